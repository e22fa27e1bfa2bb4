import type { ArtifactStore } from './ArtifactStore.ts';

/**
 * The store of `--artifacts` (+ `--s3-endpoint`) on `serve` and `worker`: undefined without the
 * option, else the store checked against the service, or a one-line problem to print before
 * exiting 2. The S3 client is loaded only when asked for.
 */
export async function artifactsOption(opts: { artifacts?: string; s3Endpoint?: string }): Promise<ArtifactStore | string | undefined> {
  if (opts.artifacts === undefined) return opts.s3Endpoint !== undefined ? '--s3-endpoint has a meaning only with --artifacts' : undefined;
  const { openArtifactStore } = await import('./openArtifactStore.ts');
  return openArtifactStore({ url: opts.artifacts, ...(opts.s3Endpoint !== undefined ? { endpoint: opts.s3Endpoint } : {}) });
}
