import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './redisServer.ts';

// The S3 tests drive s3rver (npm, a devDependency): an S3-compatible HTTP server storing objects in
// a folder, started here in its own process on a free loopback port. Debian has no S3 server that
// runs alone (radosgw needs a Ceph cluster; no MinIO, no moto). s3rver checks the access key id
// of each request (unknown keys get InvalidAccessKeyId) but not the SigV4 signature itself.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/package.json');
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account.js');
DUMMY_ACCOUNT.createKeyPair(process.env.S3_KEY, process.env.S3_SECRET);
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
const server = new S3rver({ address: '127.0.0.1', port: Number(process.env.S3_PORT), directory: process.env.S3_DIR, silent: true, configureBuckets: [{ name: process.env.S3_BUCKET }] });
const { port } = await server.run();
console.log('s3 ready ' + port);
`;

/** An S3-compatible server of one test file, and the AWS environment that reaches it. */
export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (random) and AWS_REGION for its clients. */
  readonly env: Readonly<Record<string, string>>;
  /** The secret key: what must never be printed or stored. */
  readonly secret: string;
  /** Kills it (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (its objects kept). */
  start(): Promise<void>;
  /** Kills it and deletes its folder. */
  stop(): Promise<void>;
}

async function spawnS3(env: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  // s3rver makes listing continuation tokens with a cipher OpenSSL 3 keeps in its legacy provider.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--input-type=module', '-e', MAIN], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s:\n${output}`)), 20_000);
    const check = () => {
      if (output.includes('s3 ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}:\n${output}`));
    });
  });
  return { child, exited };
}

/** Starts s3rver on a free loopback port with bucket `bucket` and a random key pair. */
export async function startS3(bucket = 'tessera-runs'): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-s3-'));
  const port = await freePort();
  const key = 'AK' + randomBytes(8).toString('hex').toUpperCase();
  const secret = randomBytes(20).toString('hex');
  const serverEnv = { S3_KEY: key, S3_SECRET: secret, S3_PORT: String(port), S3_DIR: dir, S3_BUCKET: bucket };
  let current: { child: ChildProcess; exited: Promise<void> } | undefined = await spawnS3(serverEnv);
  const kill = async () => {
    if (!current) return;
    const { child, exited } = current;
    current = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    env: { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'us-east-1' },
    secret,
    kill,
    async start() {
      await kill();
      current = await spawnS3(serverEnv);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Puts the server's AWS environment into this process (the SDK's credential chain reads it, as
 * `serve` and `worker` do); returns the function that puts the earlier values back.
 */
export function useS3Env(s3: S3Server): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(s3.env)) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
