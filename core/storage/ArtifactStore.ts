import type { Readable } from 'node:stream';

/** A file of a stored run: its path inside the run's folder and its size in bytes. */
export interface StoredFile {
  readonly path: string;
  readonly size: number;
  /** The object's ETag as the store gives it (S3: the MD5 of a single-request upload, in quotes), when known. */
  readonly etag?: string;
}

/**
 * Where finished run directories live when they are not on a path the server shares with the
 * workers: object storage (S3ArtifactStore). Without one, runs are written straight into the
 * shared runs folder (the default, unchanged). Every `path` is relative to the run's folder and
 * checked (artifactKeys.ts): a refused one throws ArtifactKeyError.
 */
export interface ArtifactStore {
  /** `s3://bucket/prefix`: names the store in messages and jobs (never credentials). */
  readonly where: string;
  /** Throws an error saying why the store cannot be used (no bucket, refused credentials, no answer). */
  check(): Promise<void>;
  /** Ids of the runs that have a folder in the store (whole or not: see {@link RemoteRuns} for what is listed). */
  listRunIds(): Promise<string[]>;
  /** The files of one run's folder. */
  listFiles(runId: string): Promise<StoredFile[]>;
  /** One file, or undefined when there is none. */
  open(runId: string, path: string): Promise<{ body: Readable; size: number } | undefined>;
  /** Stores a local file (its content at this moment) under `path`. */
  putFile(runId: string, path: string, localFile: string): Promise<void>;
  /** Stores a file of a sweep's table (the server's `<runs>/sweeps/<id>/`) under the store's `sweeps/<id>/`. */
  putSweepFile(sweepId: string, path: string, localFile: string): Promise<void>;
  /** Ids of the sweeps whose tables are in the store (`sweeps/<id>/`). */
  listSweepIds(): Promise<string[]>;
  /** One file of a sweep's table, or undefined when there is none. */
  openSweepFile(sweepId: string, path: string): Promise<{ body: Readable; size: number } | undefined>;
  /**
   * Copies a stored file to `localFile` atomically (temp + rename); false when there is none.
   * One of more than `maxBytes` is refused (an error giving its size), nothing downloaded.
   */
  download(runId: string, path: string, localFile: string, maxBytes?: number): Promise<boolean>;
  /** Closes its pooled connections (a store used again opens new ones): called when a server or worker stops. */
  close(): void;
}
