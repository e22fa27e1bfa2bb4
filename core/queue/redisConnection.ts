import { readFile } from 'node:fs/promises';
import { parseRedisUrl, type RedisConnection } from './redisUrl.ts';

/** How a command reaches Redis beyond its URL: the `--insecure-redis`, `--redis-ca` options and $TESSERA_REDIS_PASSWORD. */
export interface RedisAccess {
  /** --insecure-redis: allow a non-loopback Redis without password or TLS. */
  readonly insecure?: boolean;
  /** The password when the URL has none ($TESSERA_REDIS_PASSWORD: unlike the URL, not visible in `ps`). */
  readonly password?: string;
  /** --redis-ca: a PEM file of the CA(s) that signed Redis's certificate, for `rediss://`. */
  readonly caFile?: string;
}

/**
 * The connection of `serve --queue`, `worker` and `sweep --queue`: the URL parsed and checked
 * (core/queue/redisUrl.ts), with the password and CA of `access`; or a message saying what is
 * wrong (the commands print it and exit 2). Never names the password.
 */
export async function redisConnectionOrProblem(url: string, access: RedisAccess = {}): Promise<RedisConnection | string> {
  let connection: RedisConnection;
  try {
    connection = parseRedisUrl(url, { ...(access.insecure ? { insecure: true } : {}), ...(access.password ? { password: access.password } : {}) });
  } catch (error) {
    return (error as Error).message;
  }
  if (access.caFile === undefined) return connection;
  if (!connection.tls) return '--redis-ca needs a rediss:// URL (TLS)';
  let ca: string;
  try {
    ca = await readFile(access.caFile, 'utf8');
  } catch (error) {
    return `--redis-ca: cannot read ${access.caFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) return `--redis-ca: ${access.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  // Node verifies against this CA alone (not the system's), so a Redis with another certificate is refused.
  return { ...connection, tls: { ca } };
}
