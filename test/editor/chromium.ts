import { existsSync } from 'node:fs';
import { aptInstall } from '../support/aptInstall.ts';

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
  const manual = 'install it (`apt-get install -y chromium` on Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium/Chrome executable';
  aptInstall('chromium', "the editor's browser tests need Chromium, which is not installed", manual);
  const now = found();
  if (!now) throw new Error(`apt-get installed "chromium" but no executable is at ${CANDIDATES.join(', ')}: ${manual}`);
  return (resolved = now);
}
