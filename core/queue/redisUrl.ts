import { insecureRedisReason } from './redisAccess.ts';

/** How to reach Redis, from a `redis://` or `rediss://` URL (what BullMQ and ioredis take). */
export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly db?: number;
  readonly username?: string;
  readonly password?: string;
  /** `rediss://`: TLS, verified against the system's CAs (and NODE_EXTRA_CA_CERTS), or `ca` (--redis-ca) alone. */
  readonly tls?: { readonly ca?: string };
  /** BullMQ's workers block on Redis; a request must wait for a reconnect instead of failing. */
  readonly maxRetriesPerRequest: null;
}

/**
 * `text` with the password of its `user:password@` part written `***`, for messages: a URL the
 * user typed may hold a password, and messages end up in logs. Works on text that is no valid
 * URL too (everything between `//` and the last `@` before the host is treated as user info).
 */
export function redactRedisUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_, scheme: string, info: string) => {
    const colon = info.indexOf(':');
    return `${scheme}${colon < 0 ? info : `${info.slice(0, colon)}:***`}@`;
  });
}

/**
 * Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS); throws a message
 * naming the problem for anything else (never echoing a password), and for a Redis beyond
 * loopback reached with neither a password nor TLS unless `insecure` (--insecure-redis) says so
 * (see insecureRedisReason). `password` (from $TESSERA_REDIS_PASSWORD) is used when the URL has none.
 */
export function parseRedisUrl(text: string, options: { insecure?: boolean; password?: string } = {}): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--queue must be a redis:// URL (got ${JSON.stringify(redactRedisUrl(text))})`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`--queue must be a redis:// or rediss:// URL (got ${url.protocol})`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error('--queue: the URL names no host');
  const port = url.port ? Number(url.port) : 6379;
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw new Error(`--queue: the path must be a database number (got /${path})`);
  if (url.search || url.hash) throw new Error('--queue: query strings and fragments are not understood');
  const connection: RedisConnection = {
    host,
    port,
    ...(path ? { db: Number(path) } : {}),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : options.password ? { password: options.password } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
  const refused = insecureRedisReason(connection, options.insecure);
  if (refused) throw new Error(`--queue: ${refused}`);
  return connection;
}
