import type { Logger } from '../services/Logger.ts';
import type { ArtifactStore } from './ArtifactStore.ts';
import { RunDirSync } from './RunDirSync.ts';
import { waitAtMost } from './waitAtMost.ts';
import { UPLOAD_RETRY, type RetryPolicy } from './withRetries.ts';

/**
 * `serve --artifacts` without `--queue`: the server runs graphs itself, and each finished run's
 * directory goes to the store the way a worker's does (RunDirSync.finish: every artifact, then
 * the record, run.json last, with the same retries), once the server has written its record. So
 * the bucket holds every run of the deployment whichever way it ran, and another server reading
 * the bucket sees them. The run stays in the server's runs folder; an upload that still fails
 * is logged (the run is listed and served from here as before).
 */
export class LocalRunUploads {
  readonly #store: ArtifactStore;
  readonly #logger: Logger;
  readonly #retry: RetryPolicy;
  readonly #pending = new Set<Promise<void>>();

  constructor(store: ArtifactStore, logger: Logger, retry: RetryPolicy = UPLOAD_RETRY) {
    this.#store = store;
    this.#logger = logger;
    this.#retry = retry;
  }

  /** Starts the upload of a finished run's directory; never throws (a failure is logged). */
  upload(runId: string, dir: string): void {
    const sync = new RunDirSync(this.#store, runId, dir);
    const p = sync
      .finish(this.#retry, (error, nextTry, delayMs) => this.#logger.warn(`run ${runId}: uploading its directory to ${this.#store.where} failed (${(error as Error).message}); try ${nextTry} of ${this.#retry.tries} in ${delayMs / 1000} s`))
      .then(
        () => this.#logger.debug(`run ${runId}: stored in ${this.#store.where}`),
        (error: unknown) => this.#logger.warn(`run ${runId}: its directory could not be stored in ${this.#store.where} (${(error as Error).message}); it is in ${dir}`),
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Uploads under way. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Waits for the uploads under way, at most `ms`; true when they all ended. */
  drain(ms: number): Promise<boolean> {
    return waitAtMost(Promise.all([...this.#pending]), ms);
  }
}
