/**
 * Batching and step counting shared by the samplers (model/Sample and mosaic/Sample): public
 * through 'tessera/model' so both use one copy.
 */

/**
 * Splits `indices` into batches of one static size b ≤ batchSize: ceil(n / batchSize) batches of
 * b = ceil(n / batches), so the last one is short by less than the number of batches. A caller
 * pads it (by repeating its last item, computed and dropped): one static batch size means one
 * session serves every batch.
 */
export function planBatches(indices: readonly number[], batchSize: number): { size: number; batches: number[][] } {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`planBatches: batchSize must be a positive integer, got ${batchSize}`);
  if (!indices.length) return { size: 0, batches: [] };
  const count = Math.ceil(indices.length / batchSize);
  const size = Math.ceil(indices.length / count);
  const batches: number[][] = [];
  for (let i = 0; i < indices.length; i += size) batches.push(indices.slice(i, i + size));
  return { size, batches };
}

/** Network evaluations one batch takes: euler one per step; heun two per step but the last (to t = 0). */
export function evaluations(steps: number, solver: 'euler' | 'heun' = 'euler'): number {
  return solver === 'heun' ? 2 * steps - 1 : steps;
}
