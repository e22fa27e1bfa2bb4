import { Redis } from 'ioredis';
import type { RedisConnection } from './redisUrl.ts';

const CONNECT_TIMEOUT_MS = 5000;

/**
 * A Redis client that answered a PING, or an error saying Redis cannot be reached: a server or
 * worker pointed at a wrong address fails at startup instead of waiting forever.
 */
export async function connectRedis(connection: RedisConnection): Promise<Redis> {
  const client = new Redis({ ...connection, lazyConnect: true });
  // ioredis reports connection errors as events; they are answered by the PING below.
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS))),
    ]);
  } catch (error) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${connection.host}:${connection.port} (${(error as Error).message})`);
  } finally {
    clearTimeout(timer);
  }
  return client;
}
