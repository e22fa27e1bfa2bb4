import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptInstall } from '../support/aptInstall.ts';

// The scale-out tests drive Debian's redis-server, started here on a free loopback port, in a
// temp folder, with AOF on (as a deployment runs it). A fresh machine has none: it is installed
// the way .ci/run does.

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

function found(): string | undefined {
  const own = process.env.REDIS_SERVER_PATH;
  if (own) {
    if (!existsSync(own)) throw new Error(`REDIS_SERVER_PATH=${own} does not exist`);
    return own;
  }
  return CANDIDATES.find((p) => existsSync(p)) ?? (spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim() || undefined);
}

/** The redis-server executable: REDIS_SERVER_PATH, one on the PATH, or Debian's package installed now. */
export function ensureRedisServer(): string {
  const have = found();
  if (have) return have;
  aptInstall('redis-server', 'the scale-out tests need redis-server, which is not installed', 'install it (`apt-get install -y redis-server`) or set REDIS_SERVER_PATH');
  const now = found();
  if (!now) throw new Error('apt-get installed redis-server but no executable was found');
  return now;
}

/** A free loopback port (bound and released: another process may take it meanwhile, rarely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** A redis-server of one test file. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** With `tls`: the PEM file of the throwaway CA that signed the server's certificate. */
  readonly caFile?: string;
  /** With `password` or `user`: the secrets the server was started with (what must never be printed). */
  readonly secrets: readonly string[];
  /**
   * Kills it (SIGKILL: no shutdown save, only what AOF already holds survives) and starts it
   * again on the same port and folder; resolves once it accepts connections again.
   */
  restart(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and deletes its folder. */
  stop(): Promise<void>;
}

/** One redis-server process, resolved once it accepts connections, with a promise of its exit. */
async function spawnRedis(exe: string, port: number, dir: string, access: readonly string[]): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  // AOF with an fsync per write: a write Redis acknowledged survives a kill (what a deployment should run).
  const child: ChildProcess = spawn(exe, [...access, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'yes', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    const check = () => {
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${output}`));
    });
  });
  return { child, exited };
}

/** How a test's Redis is protected (default: neither, as on a loopback-only machine). */
export interface RedisProtection {
  /** `--requirepass` with a random password; the url carries it (`redis://:pass@…`). */
  readonly password?: boolean;
  /** An ACL user with a random password and every right; the url names it (`redis://user:pass@…`). */
  readonly user?: string;
  /** TLS only (`--port 0 --tls-port`), with a throwaway CA and certificate made with openssl; the url is `rediss://`. */
  readonly tls?: boolean;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 and localhost signed by it, in `dir`
 * (openssl, as on any Debian machine); returns the files redis-server takes.
 */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (name: string) => join(dir, name);
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`openssl ${args[0]} failed (the TLS tests need openssl): ${r.error?.message ?? r.stderr}`);
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=tessera test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('redis.key'), '-out', f('redis.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['x509', '-req', '-in', f('redis.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('redis.pem'), '-days', '2', '-extfile', f('san.ext')]);
  return { ca: f('ca.pem'), cert: f('redis.pem'), key: f('redis.key') };
}

/**
 * Starts redis-server on a free loopback port, with AOF on, in a temp folder; resolves once it
 * accepts connections. `protection`: a password, an ACL user and/or TLS (the url says how to reach it).
 */
export async function startRedis(protection: RedisProtection = {}): Promise<RedisServer> {
  const exe = ensureRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const port = await freePort();
  const access: string[] = [];
  const secrets: string[] = [];
  let auth = '';
  if (protection.password) {
    const password = randomBytes(12).toString('hex');
    access.push('--requirepass', password);
    secrets.push(password);
    auth = `:${password}@`;
  }
  if (protection.user !== undefined) {
    const password = randomBytes(12).toString('hex');
    access.push('--user', protection.user, 'on', `>${password}`, '~*', '&*', '+@all');
    secrets.push(password);
    auth = `${protection.user}:${password}@`;
  }
  let caFile: string | undefined;
  if (protection.tls) {
    const files = makeCertificates(dir);
    caFile = files.ca;
    // Clients are not asked for certificates: the password is what authenticates them.
    access.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca, '--tls-auth-clients', 'no');
  } else {
    access.push('--port', String(port));
  }
  let current = await spawnRedis(exe, port, dir, access);
  return {
    port,
    url: `${protection.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    dir,
    ...(caFile ? { caFile } : {}),
    secrets,
    async restart() {
      current.child.kill('SIGKILL');
      await current.exited;
      current = await spawnRedis(exe, port, dir, access);
    },
    async stop() {
      const { child, exited } = current;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
