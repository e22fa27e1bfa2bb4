import { join } from 'node:path';
import type { Logger } from '../services/Logger.ts';
import { SWEEP_FILES } from '../sweep/runSweep.ts';
import type { SweepSummary } from '../wire/sweeps.ts';
import type { ArtifactStore } from './ArtifactStore.ts';

/**
 * With `serve --artifacts`: each sweep's table (sweep.json, sweep.md, as the server wrote them
 * into `sweepsDir/<id>/`) is copied to the store's `sweeps/<id>/` once the sweep has ended, so the
 * bucket holds the sweeps next to their runs. A copy that fails is logged; the server's own
 * table is untouched. Returns the unsubscribe function.
 */
export function uploadSweepTables(sweeps: { onMessage(listener: (m: { sweep: SweepSummary }) => void): () => void }, sweepsDir: string, store: ArtifactStore, logger: Logger): () => void {
  let chain: Promise<void> = Promise.resolve();
  return sweeps.onMessage(({ sweep }) => {
    if (sweep.state !== 'ended') return;
    const id = sweep.id;
    // One upload at a time, in the order the sweeps ended.
    chain = chain.then(async () => {
      try {
        for (const name of [SWEEP_FILES.markdown, SWEEP_FILES.json]) await store.putSweepFile(id, name, join(sweepsDir, id, name));
      } catch (error) {
        logger.warn(`sweep ${id}: its table could not be copied to ${store.where} (${(error as Error).message}); it is in ${join(sweepsDir, id)}`);
      }
    });
  });
}
