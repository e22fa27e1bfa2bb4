import { execFileSync, spawnSync } from 'node:child_process';

// Tests that drive a real Debian program (Chromium, redis-server) install it the way .ci/run
// does when it is missing, so `npm test` passes on a fresh machine.

/** How to run apt-get here: directly as root, through password-less sudo, or not at all. */
function aptPrefix(): string[] | undefined {
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return undefined;
  if (process.getuid?.() === 0) return [];
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
}

/**
 * Installs a Debian package with apt-get (update, then install), or throws a message that says
 * why it cannot and what to do (`manual`).
 */
export function aptInstall(pkg: string, why: string, manual: string): void {
  const prefix = aptPrefix();
  if (!prefix) throw new Error(`${why}, and apt-get cannot be run here (not root, no password-less sudo): ${manual}`);
  process.stderr.write(`${why}; installing Debian's ${pkg} with apt-get (once)…\n`);
  const [cmd, ...pre] = [...prefix, 'apt-get'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync(cmd!, [...pre, 'update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync(cmd!, [...pre, 'install', '-y', '-qq', pkg], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (error) {
    throw new Error(`installing ${pkg} with apt-get failed (${(error as Error).message.split('\n')[0]}): ${manual}`);
  }
}
