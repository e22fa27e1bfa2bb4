import { randomBytes } from 'node:crypto';

/** Safe run ids: they name directories and appear in URLs. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

let lastStamp = '';
let stampCounter = 0;

/** Sortable, unique, URL- and file-safe: `20261126-130501-000-3f9a1c`. */
export function newRunId(): string {
  const iso = new Date().toISOString();
  const stamp = iso.slice(0, 10).replace(/-/g, '') + '-' + iso.slice(11, 19).replace(/:/g, '');
  stampCounter = stamp === lastStamp ? stampCounter + 1 : 0;
  lastStamp = stamp;
  return `${stamp}-${String(stampCounter).padStart(3, '0')}-${randomBytes(3).toString('hex')}`;
}
