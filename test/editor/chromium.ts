import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// The browser tests drive Debian's Chromium. A fresh machine has none, and `npm test` must pass
// there, so the first browser test installs it the way .ci/run does (apt-get), once per process.

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function found(): string | undefined {
  const own = process.env.CHROMIUM_PATH;
  if (own) {
    if (!existsSync(own)) throw new Error(`CHROMIUM_PATH=${own} does not exist`);
    return own;
  }
  return CANDIDATES.find((p) => existsSync(p));
}

/** How to run apt-get here: directly as root, through password-less sudo, or not at all. */
function aptPrefix(): string[] | undefined {
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return undefined;
  if (process.getuid?.() === 0) return [];
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0 ? ['sudo', '-n'] : undefined;
}

let resolved: string | undefined;

/**
 * The Chromium executable for playwright-core: CHROMIUM_PATH, a system Chromium, or Debian's
 * `chromium` package installed now with apt-get (takes a few minutes, once). Throws a message
 * that says what to do when none can be had.
 */
export function ensureChromium(): string {
  if (resolved) return resolved;
  const have = found();
  if (have) return (resolved = have);
  const prefix = aptPrefix();
  const manual = 'install it (`apt-get install -y chromium` on Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium/Chrome executable';
  if (!prefix) throw new Error(`the editor's browser tests need Chromium, which is not installed, and apt-get cannot be run here (not root, no password-less sudo): ${manual}`);
  process.stderr.write('editor tests: Chromium is missing; installing Debian\'s chromium with apt-get (once, a few minutes)…\n');
  const [cmd, ...pre] = [...prefix, 'apt-get'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync(cmd!, [...pre, 'update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync(cmd!, [...pre, 'install', '-y', '-qq', 'chromium'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  } catch (error) {
    throw new Error(`installing Chromium with apt-get failed (${(error as Error).message.split('\n')[0]}): ${manual}`);
  }
  const now = found();
  if (!now) throw new Error(`apt-get installed "chromium" but no executable is at ${CANDIDATES.join(', ')}: ${manual}`);
  return (resolved = now);
}
