import type { ArtifactStore } from '../../core/storage/ArtifactStore.ts';

/** A real store with each upload and download noted (path only, in order). */
export function recordingStore(store: ArtifactStore): { store: ArtifactStore; puts: string[]; downloads: string[] } {
  const puts: string[] = [];
  const downloads: string[] = [];
  const wrapped: ArtifactStore = {
    where: store.where,
    check: () => store.check(),
    listRunIds: () => store.listRunIds(),
    listFiles: (runId) => store.listFiles(runId),
    open: (runId, path) => store.open(runId, path),
    putFile: (runId, path, file) => {
      puts.push(path);
      return store.putFile(runId, path, file);
    },
    putSweepFile: (sweepId, path, file) => store.putSweepFile(sweepId, path, file),
    listSweepIds: () => store.listSweepIds(),
    openSweepFile: (sweepId, path) => store.openSweepFile(sweepId, path),
    download: (runId, path, file, maxBytes) => {
      downloads.push(path);
      return store.download(runId, path, file, maxBytes);
    },
    close: () => store.close(),
  };
  return { store: wrapped, puts, downloads };
}
