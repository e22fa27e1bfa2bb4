import { insecureRedisReason } from './redisAccess.ts';

/** How to reach Redis, from a `redis://` or `rediss://` URL (what BullMQ and ioredis take). */
export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly db?: number;
  readonly username?: string;
  readonly password?: string;
  /** `rediss://`: TLS with the system's CAs. */
  readonly tls?: Record<string, never>;
  /** BullMQ's workers block on Redis; a request must wait for a reconnect instead of failing. */
  readonly maxRetriesPerRequest: null;
}

/**
 * Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS); throws a message
 * naming the problem for anything else, and for a Redis beyond loopback reached with neither a
 * password nor TLS unless `insecure` (--insecure-redis) says so (see insecureRedisReason).
 */
export function parseRedisUrl(text: string, options: { insecure?: boolean } = {}): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--queue must be a redis:// URL (got ${JSON.stringify(text)})`);
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
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
  const refused = insecureRedisReason(connection, options.insecure);
  if (refused) throw new Error(`--queue: ${refused}`);
  return connection;
}

/** {@link parseRedisUrl}, with the problem as a string instead of an exception (for the commands' usage errors). */
export function redisUrlOrProblem(text: string, insecure: boolean): RedisConnection | string {
  try {
    return parseRedisUrl(text, { insecure });
  } catch (error) {
    return (error as Error).message;
  }
}
