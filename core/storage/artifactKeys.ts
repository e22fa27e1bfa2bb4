import { redactRedisUrl } from '../queue/redisUrl.ts';
import { RUN_ID_PATTERN } from '../server/runId.ts';

/** Where run directories go in object storage: `s3://bucket/prefix`. */
export interface S3Location {
  readonly bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  readonly prefix: string;
}

/** S3's bucket naming rule (3–63 characters: lower-case letters, digits, dots, hyphens). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 allows 1024 bytes per key; the run id and the path share what the prefix leaves. */
const MAX_KEY_BYTES = 1024;

/** A key or path from user text that would leave its run's folder, or that S3 would mangle. */
export class ArtifactKeyError extends Error {
  override readonly name = 'ArtifactKeyError';
}

/**
 * Why `path` (slash-separated, relative) cannot name an object, or undefined when it can. Paths
 * come from user text (a URL of the API, a prefix on the command line, a key listed from the
 * bucket): no `..` or `.` segment, no empty segment, nothing absolute, no backslash or control
 * character, so a key never names another run's folder and a path made from a key never leaves
 * the local folder it is written into.
 */
export function keyPathProblem(path: string): string | undefined {
  if (path === '') return 'it is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'it holds a control character';
  if (path.includes('\\')) return 'it holds a backslash';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'it is absolute';
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return 'it holds a ".." segment';
  if (segments.some((s) => s === '.')) return 'it holds a "." segment';
  if (segments.some((s) => s === '')) return 'it holds an empty segment (//, or a trailing /)';
  return undefined;
}

/**
 * Parses `--artifacts s3://bucket[/prefix]`. Credentials never go in it (they come from the AWS
 * environment); a URL holding some is refused, echoed with the secret written `***`.
 */
export function parseS3Url(text: string): S3Location {
  const shown = JSON.stringify(redactRedisUrl(text));
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(text);
  if (!m) throw new ArtifactKeyError(`--artifacts must be an s3://bucket/prefix URL (got ${shown})`);
  const bucket = m[1]!;
  if (bucket.includes('@')) throw new ArtifactKeyError(`--artifacts: credentials do not go in the URL (got ${shown}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw new ArtifactKeyError(`--artifacts: ${JSON.stringify(bucket)} is not a bucket name (3 to 63 of a-z, 0-9, '.', '-')`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    const problem = keyPathProblem(prefix);
    if (problem) throw new ArtifactKeyError(`--artifacts: the prefix ${JSON.stringify(prefix)} is refused: ${problem}`);
    if (/[?#]/.test(prefix)) throw new ArtifactKeyError('--artifacts: query strings and fragments are not understood');
  }
  return { bucket, prefix };
}

/** `s3://bucket/prefix` again: what jobs carry and messages show (it holds no credentials). */
export function s3UrlOf(location: S3Location): string {
  return `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`;
}

/** The key prefix of one run's folder (with its trailing slash). */
export function runKeyPrefix(location: S3Location, runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) throw new ArtifactKeyError(`${JSON.stringify(runId)} is not a run id`);
  return `${location.prefix ? `${location.prefix}/` : ''}${runId}/`;
}

/** The key of file `path` (relative, slash-separated) of run `runId`; throws {@link ArtifactKeyError} for a path that is refused. */
export function artifactKey(location: S3Location, runId: string, path: string): string {
  return checkedKey(runKeyPrefix(location, runId), path);
}

/** Folder of the server's sweep tables: not a run id, so never listed as a run. */
export const SWEEPS_KEY = 'sweeps';

/** The key of file `path` of the sweep `sweepId` (sweep ids are run ids): `<prefix>/sweeps/<sweepId>/<path>`. */
export function sweepKey(location: S3Location, sweepId: string, path: string): string {
  if (!RUN_ID_PATTERN.test(sweepId)) throw new ArtifactKeyError(`${JSON.stringify(sweepId)} is not a sweep id`);
  return checkedKey(`${location.prefix ? `${location.prefix}/` : ''}${SWEEPS_KEY}/${sweepId}/`, path);
}

function checkedKey(folder: string, path: string): string {
  const problem = keyPathProblem(path);
  if (problem) throw new ArtifactKeyError(`the file path ${JSON.stringify(path.slice(0, 200))} is refused: ${problem}`);
  const key = folder + path;
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new ArtifactKeyError(`the key for ${JSON.stringify(path.slice(0, 200))} is longer than S3's ${MAX_KEY_BYTES} bytes`);
  return key;
}

/**
 * The run-relative path of a key listed under {@link runKeyPrefix}, or undefined for a key that is
 * not a safe path there (written by someone else: it is skipped, never followed).
 */
export function pathOfKey(location: S3Location, runId: string, key: string): string | undefined {
  const prefix = runKeyPrefix(location, runId);
  if (!key.startsWith(prefix)) return undefined;
  const path = key.slice(prefix.length);
  return keyPathProblem(path) === undefined ? path : undefined;
}
