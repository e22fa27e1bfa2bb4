import { readFileSync } from 'node:fs';
import type { CliIo } from '../cli/main.ts';
import { createEngine } from '../engine/Engine.ts';
import { createServer } from './createServer.ts';

/** Options of `tessera serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  concurrency: number;
  workspace: string;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * `tessera serve`: the HTTP/WebSocket API and the visual editor, until SIGINT/SIGTERM. Returns
 * 2 for bad options (a non-loopback bind without a token, a port in use), 0 after a clean stop.
 */
export async function serveCommand(opts: ServeOptions, io: CliIo): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    io.stderr.write(`error: --port must be an integer in 0..65535\n`);
    return 2;
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    io.stderr.write(`error: --concurrency must be a positive integer\n`);
    return 2;
  }
  const { builtinPlugins } = await import('../../plugins/index.ts');
  const engine = await createEngine({ plugins: builtinPlugins });
  for (const p of engine.registry.problems) io.stderr.write(`warning: plugin ${p.plugin}: ${p.message}\n`);
  // Plugin records gained a status with the plugin loader; read it loosely so both shapes work.
  for (const p of engine.plugins as readonly { name: string; status?: string; problems?: readonly string[] }[]) {
    if (p.status && p.status !== 'loaded') io.stderr.write(`warning: plugin ${p.name} ${p.status}: ${(p.problems ?? []).join('; ')}\n`);
  }
  let server;
  try {
    server = createServer({ engine, host: opts.host, port: opts.port, ...(opts.token ? { token: opts.token } : {}), concurrency: opts.concurrency, workspace: opts.workspace, version: pkg.version });
    await server.listen();
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  io.stdout.write(`tessera ${pkg.version} serving ${server.url}${opts.token ? ' (token required)' : ''}\n`);
  io.stdout.write(`  editor    ${server.url}${opts.token ? '?token=…' : ''}\n  API       ${server.url}api/  (docs/api.md)\n  runs in   ${server.queue.runsDir}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stdout.write('stopping (cancelling queued and running runs)…\n');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
