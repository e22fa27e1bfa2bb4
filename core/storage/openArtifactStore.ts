import { redactRedisUrl } from '../queue/redisUrl.ts';
import { parseS3Url } from './artifactKeys.ts';
import { S3ArtifactStore } from './S3ArtifactStore.ts';

/** What `--artifacts`, `--s3-endpoint` and the AWS environment say. */
export interface ArtifactsOptions {
  /** `s3://bucket/prefix`. */
  readonly url: string;
  /** `--s3-endpoint`; default $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL (the SDK's own variables), else AWS. */
  readonly endpoint?: string;
  /** The environment the defaults come from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Checks an endpoint URL: http(s), a host, nothing secret in it. Returns the problem, if any. */
export function endpointProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `--s3-endpoint must be an http:// or https:// URL (got ${JSON.stringify(redactRedisUrl(text))})`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--s3-endpoint must be an http:// or https:// URL (got ${url.protocol})`;
  if (url.username || url.password) return `--s3-endpoint: credentials do not go in the URL (got ${JSON.stringify(redactRedisUrl(text))}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  if (url.search || url.hash) return '--s3-endpoint: query strings and fragments are not understood';
  return undefined;
}

/**
 * The store of `worker --artifacts` and `serve --artifacts`, checked against the service (the
 * bucket answers to these credentials); or a one-line message saying what is wrong, which the
 * commands print before exiting 2. Never names a secret.
 */
export async function openArtifactStore(options: ArtifactsOptions): Promise<S3ArtifactStore | string> {
  const env = options.env ?? process.env;
  let location;
  try {
    location = parseS3Url(options.url);
  } catch (error) {
    return (error as Error).message;
  }
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined) {
    const problem = endpointProblem(endpoint);
    if (problem) return problem;
  }
  // TESSERA_S3_PART_MIB: files from this size on go up in parts of this size (default 64; S3's least is 5).
  const partText = env.TESSERA_S3_PART_MIB;
  const partMiB = partText === undefined || partText === '' ? undefined : Number(partText);
  if (partMiB !== undefined && !(Number.isFinite(partMiB) && partMiB >= 5 && partMiB <= 5 * 1024)) return `TESSERA_S3_PART_MIB must be a number of MiB from 5 to 5120 (got ${JSON.stringify(partText)})`;
  const parts = partMiB !== undefined ? { multipartThreshold: partMiB * 1024 ** 2, partBytes: partMiB * 1024 ** 2 } : {};
  const store = new S3ArtifactStore(location, { ...(endpoint !== undefined ? { endpoint } : {}), ...parts });
  try {
    await store.check();
  } catch (error) {
    store.close();
    return (error as Error).message;
  }
  return store;
}
