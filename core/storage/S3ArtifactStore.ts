import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException, type ListObjectsV2CommandInput, type ListObjectsV2CommandOutput, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { RUN_ID_PATTERN } from '../server/runId.ts';
import { toDiskWriteError } from '../util/diskError.ts';
import type { ArtifactStore, StoredFile } from './ArtifactStore.ts';
import { artifactKey, pathOfKey, runKeyPrefix, s3UrlOf, sweepKey, SWEEPS_KEY, type S3Location } from './artifactKeys.ts';
import { describeS3Error } from './describeS3Error.ts';

/** How to reach the S3 service: credentials always come from the AWS environment (never a flag). */
export interface S3Access {
  /** An S3-compatible server (MinIO, Ceph, Garage…): `http(s)://host:port`, addressed path-style. */
  readonly endpoint?: string;
  /** Default: $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1 (what S3-compatible servers expect). */
  readonly region?: string;
  /** How long the startup {@link S3ArtifactStore.check} waits for an answer (default 10 s). */
  readonly checkTimeoutMs?: number;
  /** Files of at least this many bytes are uploaded in parts (default {@link MULTIPART_THRESHOLD}). */
  readonly multipartThreshold?: number;
  /** The size of each part (default {@link PART_BYTES}; S3 takes 5 MiB at least, except for the last part). */
  readonly partBytes?: number;
}

/** A service that accepts connections but never answers must not hang a worker: connect within 5 s, and a socket silent for 60 s fails its request (retried). */
const HTTP_TIMEOUTS = { connectionTimeout: 5000, socketTimeout: 60_000 };

const CONTENT_TYPES = new Map([
  ['.json', 'application/json'], ['.jsonl', 'application/x-ndjson'], ['.png', 'image/png'], ['.jpg', 'image/jpeg'],
  ['.txt', 'text/plain'], ['.md', 'text/plain'],
]);
/** The largest object S3 stores (5 TiB); a single PUT takes at most 5 GiB, hence the parts. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** Files from this size on go up as a multipart upload (well under a PUT's 5 GiB, so a failure costs one part, not the file). */
export const MULTIPART_THRESHOLD = 64 * 1024 ** 2;
/** Default part size; a file of more than 10 000 parts (S3's limit) gets larger parts. */
export const PART_BYTES = 64 * 1024 ** 2;
/** S3's limits on parts: at least 5 MiB (but the last), at most 10 000 of them. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PARTS = 10_000;
/**
 * Bodies up to this size are read into memory: the SDK repeats a failed request (3 attempts) only
 * when its body is not a stream (@smithy/core's retry middleware: a stream cannot be replayed).
 * A larger one (TESSERA_S3_PART_MIB above 64) is streamed, and a failure is left to the caller's
 * retries, which read the file again.
 */
const MAX_BUFFERED_BODY = 64 * 1024 ** 2;
let counter = 0;

/**
 * Run directories in an S3 bucket, `<prefix>/<runId>/<path>`, through @aws-sdk/client-s3.
 * Credentials and region come from the standard AWS chain ($AWS_ACCESS_KEY_ID,
 * $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN, $AWS_PROFILE, …); an `endpoint` selects an
 * S3-compatible server, addressed path-style, with checksums only where the API requires them
 * (many such servers do not take the SDK's default CRC trailers).
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly where: string;
  readonly #location: S3Location;
  readonly #client: S3Client;
  readonly #checkTimeoutMs: number;
  readonly #multipartThreshold: number;
  readonly #partBytes: number;

  constructor(location: S3Location, access: S3Access = {}) {
    this.#location = location;
    this.where = s3UrlOf(location);
    // The pinned SDK runs on Node 20; its notice about later versions needing Node 22 would
    // otherwise be printed by every worker (docs/scale-out.md says it).
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const endpoint = access.endpoint;
    this.#checkTimeoutMs = access.checkTimeoutMs ?? 10_000;
    this.#multipartThreshold = access.multipartThreshold ?? MULTIPART_THRESHOLD;
    this.#partBytes = Math.max(MIN_PART_BYTES, access.partBytes ?? PART_BYTES);
    this.#client = new S3Client({
      region: access.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      maxAttempts: 3,
      requestHandler: HTTP_TIMEOUTS,
      ...(endpoint ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    });
  }

  /**
   * Closes the client's pooled connections (kept alive between requests), so a process that is
   * done with the store can exit. The client makes new connections if it is used again.
   */
  close(): void {
    this.#client.destroy();
  }

  async check(): Promise<void> {
    try {
      // A listing, not a HEAD: its error answer has a body, so the reason has S3's code
      // (InvalidAccessKeyId, NoSuchBucket, AccessDenied…); and servers and workers both list.
      // Of a name no run has, so the answer is empty and small whatever the bucket holds.
      const command = new ListObjectsV2Command({ Bucket: this.#location.bucket, Prefix: `${this.#location.prefix ? `${this.#location.prefix}/` : ''}.tessera-check`, MaxKeys: 1 });
      await this.#client.send(command, { abortSignal: AbortSignal.timeout(this.#checkTimeoutMs) });
    } catch (error) {
      const silent = (error as Error)?.name === 'AbortError' || (error as Error)?.name === 'TimeoutError';
      throw new Error(`cannot use ${this.where}: ${silent ? `no answer within ${this.#checkTimeoutMs / 1000} s: check --s3-endpoint` : describeS3Error(error)}`);
    }
  }

  async listRunIds(): Promise<string[]> {
    return this.#listFolders(this.#location.prefix ? `${this.#location.prefix}/` : '');
  }

  async listSweepIds(): Promise<string[]> {
    return this.#listFolders(`${this.#location.prefix ? `${this.#location.prefix}/` : ''}${SWEEPS_KEY}/`);
  }

  /** The folders under `base` whose names are run ids (run and sweep ids are alike); others are skipped. */
  async #listFolders(base: string): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#list({ Bucket: this.#location.bucket, Prefix: base, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) });
      for (const p of page.CommonPrefixes ?? []) {
        const id = p.Prefix?.slice(base.length, -1);
        if (id !== undefined && RUN_ID_PATTERN.test(id)) ids.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return ids;
  }

  async listFiles(runId: string): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    let token: string | undefined;
    do {
      const page = await this.#list({ Bucket: this.#location.bucket, Prefix: runKeyPrefix(this.#location, runId), ...(token ? { ContinuationToken: token } : {}) });
      for (const o of page.Contents ?? []) {
        // A key that is no safe path (written by someone else) is skipped, never followed.
        const path = o.Key === undefined ? undefined : pathOfKey(this.#location, runId, o.Key);
        if (path !== undefined) files.push({ path, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return files;
  }

  open(runId: string, path: string): Promise<{ body: Readable; size: number } | undefined> {
    return this.#open(artifactKey(this.#location, runId, path), `${path} of run ${runId}`);
  }

  openSweepFile(sweepId: string, path: string): Promise<{ body: Readable; size: number } | undefined> {
    return this.#open(sweepKey(this.#location, sweepId, path), `${path} of sweep ${sweepId}`);
  }

  async #open(key: string, what: string): Promise<{ body: Readable; size: number } | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#location.bucket, Key: key }));
      return { body: out.Body as Readable, size: out.ContentLength ?? 0 };
    } catch (error) {
      if (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404)) return undefined;
      throw new Error(`cannot read ${what} from ${this.where}: ${describeS3Error(error)}`);
    }
  }

  async putFile(runId: string, path: string, localFile: string): Promise<void> {
    return this.#putLocal(artifactKey(this.#location, runId, path), localFile);
  }

  async putSweepFile(sweepId: string, path: string, localFile: string): Promise<void> {
    return this.#putLocal(sweepKey(this.#location, sweepId, path), localFile);
  }

  async #putLocal(key: string, localFile: string): Promise<void> {
    const name = key.slice(key.lastIndexOf('/') + 1);
    const { size } = await stat(localFile);
    if (size > MAX_OBJECT_BYTES) throw new Error(`${name} is ${size} bytes: more than the ${MAX_OBJECT_BYTES} bytes S3 stores in one object`);
    const contentType = CONTENT_TYPES.get(extname(name).toLowerCase()) ?? 'application/octet-stream';
    if (size >= this.#multipartThreshold) return this.#putParts(key, localFile, size, contentType);
    await this.#put({ Bucket: this.#location.bucket, Key: key, Body: await bodyOf(localFile, 0, size), ContentLength: size, ContentType: contentType });
  }

  /**
   * A multipart upload: parts read one after another from the file (one part in flight, so
   * memory stays flat), then completed; on any failure the upload is aborted, so the bucket
   * keeps no orphaned parts (and no object: the key is written whole or not at all).
   */
  async #putParts(key: string, localFile: string, size: number, contentType: string): Promise<void> {
    const Bucket = this.#location.bucket;
    const partBytes = Math.max(this.#partBytes, Math.ceil(size / MAX_PARTS));
    let uploadId: string | undefined;
    try {
      uploadId = (await this.#client.send(new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: contentType }))).UploadId;
      if (!uploadId) throw new Error('the service gave no upload id');
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let start = 0, PartNumber = 1; start < size; start += partBytes, PartNumber++) {
        const length = Math.min(partBytes, size - start);
        const out = await this.#client.send(new UploadPartCommand({ Bucket, Key: key, UploadId: uploadId, PartNumber, ContentLength: length, Body: await bodyOf(localFile, start, length) }));
        if (!out.ETag) throw new Error(`the service gave no ETag for part ${PartNumber}`);
        parts.push({ ETag: out.ETag, PartNumber });
      }
      await this.#client.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      if (uploadId) await this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId })).catch(() => undefined); // best effort: a lifecycle rule cleans what remains
      throw new Error(`cannot upload to ${this.where} (in parts): ${describeS3Error(error)}`);
    }
  }

  async download(runId: string, path: string, localFile: string, maxBytes = Infinity): Promise<boolean> {
    const object = await this.open(runId, path);
    if (!object) return false;
    if (object.size > maxBytes) {
      object.body.destroy();
      throw new Error(`${path} of run ${runId} is ${object.size} bytes: more than the ${maxBytes} bytes read from ${this.where}`);
    }
    const tmp = join(dirname(localFile), `.${basename(localFile)}.${process.pid}.${counter++}.tmp`);
    try {
      await mkdir(dirname(localFile), { recursive: true });
      await pipeline(object.body, createWriteStream(tmp));
      await rename(tmp, localFile);
    } catch (error) {
      object.body.destroy();
      await rm(tmp, { force: true }).catch(() => undefined); // cleanup only
      throw toDiskWriteError(error, localFile);
    }
    return true;
  }

  /** One page of a listing; a failure says what S3 answered, in one line, without credentials. */
  async #list(input: ListObjectsV2CommandInput): Promise<ListObjectsV2CommandOutput> {
    try {
      return await this.#client.send(new ListObjectsV2Command(input));
    } catch (error) {
      throw new Error(`cannot list ${this.where}: ${describeS3Error(error)}`);
    }
  }

  async #put(input: PutObjectCommandInput): Promise<void> {
    try {
      await this.#client.send(new PutObjectCommand(input));
    } catch (error) {
      throw new Error(`cannot upload to ${this.where}: ${describeS3Error(error)}`);
    }
  }
}

/** `length` bytes of `localFile` from `start`: in memory up to {@link MAX_BUFFERED_BODY} (replayable by SDK retries), else a stream. */
async function bodyOf(localFile: string, start: number, length: number): Promise<Buffer | Readable> {
  if (length > MAX_BUFFERED_BODY) return createReadStream(localFile, { start, end: start + length - 1 });
  const fh = await open(localFile, 'r');
  try {
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buffer, done, length - done, start + done);
      if (bytesRead === 0) throw new Error(`${basename(localFile)} became shorter while it was uploaded`);
      done += bytesRead;
    }
    return buffer;
  } finally {
    await fh.close();
  }
}
