import { Redis } from 'ioredis';
import type { RedisConnection } from './redisUrl.ts';

const CONNECT_TIMEOUT_MS = 5000;

// Node's codes for a server certificate it cannot trust (node:tls / OpenSSL verify errors).
const CERTIFICATE_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID/;

/**
 * What to do about a failed connection, from the first error ioredis reported (its later
 * "Connection is closed." says nothing), or '' when there is no advice to give.
 */
export function connectionHint(connection: RedisConnection, error: Error & { code?: string }): string {
  const message = error.message;
  if (/^WRONGPASS|invalid username-password/i.test(message)) return 'the user or password is wrong';
  if (/^NOAUTH/i.test(message)) return 'this Redis requires a password: give it in the URL (redis://:pass@host) or in $TESSERA_REDIS_PASSWORD';
  if (typeof error.code === 'string' && CERTIFICATE_CODES.test(error.code)) {
    return connection.tls?.ca !== undefined
      ? "Redis's TLS certificate was not signed by the --redis-ca CA (or names another host)"
      : "Redis's TLS certificate is not trusted: give the CA that signed it with --redis-ca <file> (or NODE_EXTRA_CA_CERTS)";
  }
  return '';
}

/**
 * A Redis client that answered a PING, or an error saying why Redis cannot be used (unreachable,
 * wrong credentials, an untrusted certificate): a server or worker pointed at a wrong address
 * fails at startup instead of waiting forever.
 */
export async function connectRedis(connection: RedisConnection): Promise<Redis> {
  const client = new Redis({ ...connection, lazyConnect: true });
  // ioredis reports connection errors as events; the first explains the failure of the PING below.
  let first: (Error & { code?: string }) | undefined;
  client.on('error', (error: Error) => (first ??= error));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS))),
    ]);
  } catch (error) {
    client.disconnect();
    const cause = first ?? (error as Error);
    const hint = connectionHint(connection, cause);
    throw new Error(`cannot reach Redis at ${connection.host}:${connection.port} (${cause.message})${hint ? `: ${hint}` : ''}`);
  } finally {
    clearTimeout(timer);
  }
  return client;
}
