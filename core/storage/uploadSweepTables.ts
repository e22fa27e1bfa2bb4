import { join } from 'node:path';
import type { Logger } from '../services/Logger.ts';
import { SWEEP_FILES } from '../sweep/runSweep.ts';
import type { SweepSummary } from '../wire/sweeps.ts';
import type { ArtifactStore } from './ArtifactStore.ts';
import { waitAtMost } from './waitAtMost.ts';
import { UPLOAD_RETRY, withRetries } from './withRetries.ts';

/**
 * With `serve --artifacts`: each sweep's table (sweep.json, sweep.md, as the server wrote them
 * into `sweepsDir/<id>/`) is copied to the store's `sweeps/<id>/` once the sweep has ended, so the
 * bucket holds the sweeps next to their runs. A copy that fails is logged; the server's own
 * table is untouched. The server drains the copies under way when it closes (a sweep its close
 * ended is copied too), then stops listening.
 */
export function uploadSweepTables(sweeps: { onMessage(listener: (m: { sweep: SweepSummary }) => void): () => void }, sweepsDir: string, store: ArtifactStore, logger: Logger): SweepTableUploads {
  let chain: Promise<void> = Promise.resolve();
  const unsubscribe = sweeps.onMessage(({ sweep }) => {
    if (sweep.state !== 'ended') return;
    const id = sweep.id;
    // One upload at a time, in the order the sweeps ended.
    chain = chain.then(async () => {
      try {
        await putSweepTable(store, id, join(sweepsDir, id));
      } catch (error) {
        logger.warn(`sweep ${id}: its table could not be copied to ${store.where} (${(error as Error).message}); it is in ${join(sweepsDir, id)}`);
      }
    });
  });
  return { drain: (ms) => waitAtMost(chain, ms), stop: unsubscribe };
}

/** The copies of {@link uploadSweepTables}. */
export interface SweepTableUploads {
  /** Waits for the copies asked for so far, at most `ms`; true when they all ended. */
  drain(ms: number): Promise<boolean>;
  /** Stops copying the tables of sweeps that end from now on. */
  stop(): void;
}

/**
 * Copies one sweep's table (sweep.md, then sweep.json, from `dir`) to the store's `sweeps/<id>/`,
 * with the retries of a run's final upload: a server's ended sweep, or `tessera sweep --artifacts`.
 */
export function putSweepTable(store: ArtifactStore, id: string, dir: string): Promise<void> {
  return withRetries(async () => {
    for (const name of [SWEEP_FILES.markdown, SWEEP_FILES.json]) await store.putSweepFile(id, name, join(dir, name));
  }, UPLOAD_RETRY);
}
