import { isIP } from 'node:net';

/** Whether `host` names this machine only: `localhost`, 127.0.0.0/8, ::1 (and ::ffff:127.x). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  // URL parsing writes an IPv4-mapped 127.x address as ::ffff:7fxx:xxxx.
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.') || /^::ffff:7f[0-9a-f]{2}:/.test(h);
  return false;
}

/**
 * Why a connection must not be used, or undefined when it may: a Redis beyond loopback is reached
 * with a password or over TLS (`rediss://`), since anyone who can write to the queue chooses what
 * the workers run and reads every run's events. `insecure` (the `--insecure-redis` flag) waives
 * the rule for a private network the user vouches for. Pure: it looks at the URL only.
 */
export function insecureRedisReason(connection: { readonly host: string; readonly password?: string; readonly tls?: object }, insecure = false): string | undefined {
  if (insecure || isLoopbackHost(connection.host) || connection.password !== undefined || connection.tls !== undefined) return undefined;
  return `Redis at ${connection.host} is not on loopback and the URL has neither a password (redis://user:pass@host) nor TLS (rediss://): anyone who reaches it could queue runs for the workers and read their events. Give credentials or TLS, or pass --insecure-redis if this network is private`;
}
