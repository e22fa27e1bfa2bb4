import { S3ServiceException } from '@aws-sdk/client-s3';

/** What to do about an answer, by S3 error code (or HTTP status for bodiless answers such as HEAD's). */
const ADVICE = new Map<string, string>([
  ['InvalidAccessKeyId', 'the access key is unknown to this S3 service: check AWS_ACCESS_KEY_ID (and --s3-endpoint)'],
  ['SignatureDoesNotMatch', 'the secret key is wrong: check AWS_SECRET_ACCESS_KEY'],
  ['AccessDenied', 'these credentials may not use this bucket or prefix'],
  ['NoSuchBucket', 'the bucket does not exist: create it first'],
  ['PermanentRedirect', 'the bucket is in another region: set AWS_REGION'],
  ['403', 'the credentials are refused or may not use this bucket (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)'],
  ['404', 'the bucket does not exist: create it first'],
  ['301', 'the bucket is in another region: set AWS_REGION'],
]);

/**
 * One line saying why an S3 call failed, with advice where the cause is clear. Only the error's
 * name, message, code and status go in (never the request, whose headers hold the signature).
 */
export function describeS3Error(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const message = error.message && error.message !== 'UnknownError' ? `: ${error.message}` : '';
    const advice = ADVICE.get(error.name) ?? (status !== undefined ? ADVICE.get(String(status)) : undefined);
    // Answers without a body (HEAD's) have no error code: the SDK names them Unknown.
    const name = error.name === 'Unknown' || error.name === 'UnknownError' ? 'refused' : error.name;
    return `${name}${status !== undefined ? ` (HTTP ${status})` : ''}${message}${advice ? ` — ${advice}` : ''}`;
  }
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (name === 'CredentialsProviderError') return `no AWS credentials found (${message}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE`;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET') return `the S3 service does not answer (${code}): check --s3-endpoint`;
  return `${name}: ${message}`;
}
