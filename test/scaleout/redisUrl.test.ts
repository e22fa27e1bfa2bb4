import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRedisUrl, redactRedisUrl } from '../../core/queue/redisUrl.ts';
import { redisConnectionOrProblem } from '../../core/queue/redisConnection.ts';
import { connectionHint } from '../../core/queue/connectRedis.ts';
import { tempWorkspace } from '../server/helpers.ts';

// The pure parts of reaching a protected Redis (the real server is in redisAuth.test.ts).

test('redactRedisUrl hides the password, valid URL or not, and leaves the rest', () => {
  assert.is(redactRedisUrl('redis://:s3cret@10.0.0.5:6379/1'), 'redis://:***@10.0.0.5:6379/1');
  assert.is(redactRedisUrl('rediss://alice:p@ss:w@rd@host:7000'), 'rediss://alice:***@host:7000');
  assert.is(redactRedisUrl('redis://:pass word@host:port'), 'redis://:***@host:port');
  assert.is(redactRedisUrl('redis://alice@host'), 'redis://alice@host');
  assert.is(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.is(redactRedisUrl('not a url'), 'not a url');
});

test('a URL that does not parse is echoed without its password', () => {
  assert.throws(() => parseRedisUrl('redis://:hunter22@host:port'), (e: Error) => e.message.includes('redis://:***@host:port') && !e.message.includes('hunter22'));
});

test('$TESSERA_REDIS_PASSWORD is used when the URL has none, and counts for the non-loopback rule', async () => {
  assert.equal(parseRedisUrl('redis://10.0.0.5', { password: 'envpw' }), { host: '10.0.0.5', port: 6379, password: 'envpw', maxRetriesPerRequest: null });
  assert.is(parseRedisUrl('redis://:urlpw@10.0.0.5', { password: 'envpw' }).password, 'urlpw');
  assert.equal(parseRedisUrl('redis://alice@10.0.0.5', { password: 'envpw' }), { host: '10.0.0.5', port: 6379, username: 'alice', password: 'envpw', maxRetriesPerRequest: null });
  assert.match((await redisConnectionOrProblem('redis://10.0.0.5')) as string, /not on loopback/);
  assert.is(((await redisConnectionOrProblem('redis://10.0.0.5', { password: 'envpw' })) as { password?: string }).password, 'envpw');
});

test('--redis-ca: read into the TLS options of a rediss:// URL; refused for redis://, a missing file or one without a certificate', async () => {
  const dir = tempWorkspace();
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(join(dir, 'ca.pem'), pem);
  writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\n');
  assert.equal(await redisConnectionOrProblem('rediss://127.0.0.1:7000', { caFile: join(dir, 'ca.pem') }), { host: '127.0.0.1', port: 7000, tls: { ca: pem }, maxRetriesPerRequest: null });
  assert.is(await redisConnectionOrProblem('redis://127.0.0.1', { caFile: join(dir, 'ca.pem') }), '--redis-ca needs a rediss:// URL (TLS)');
  assert.match(await redisConnectionOrProblem('rediss://127.0.0.1', { caFile: join(dir, 'none.pem') }) as string, /cannot read .*none\.pem \(ENOENT\)/);
  assert.match(await redisConnectionOrProblem('rediss://127.0.0.1', { caFile: join(dir, 'key.pem') }) as string, /holds no PEM certificate/);
});

test('connection failures get advice: credentials, a missing password, an untrusted certificate', () => {
  const plain = parseRedisUrl('redis://127.0.0.1');
  const tls = parseRedisUrl('rediss://127.0.0.1');
  assert.is(connectionHint(plain, new Error('WRONGPASS invalid username-password pair or user is disabled.')), 'the user or password is wrong');
  assert.match(connectionHint(plain, new Error('NOAUTH Authentication required.')), /requires a password/);
  const cert = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  assert.match(connectionHint(tls, cert), /not trusted: give the CA .* --redis-ca/);
  assert.match(connectionHint({ ...tls, tls: { ca: 'x' } }, Object.assign(new Error('Hostname/IP does not match'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })), /not signed by the --redis-ca CA \(or names another host\)/);
  assert.is(connectionHint(plain, Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), '');
});

test.run();
