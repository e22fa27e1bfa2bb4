import { createHash } from 'node:crypto';
import { canonicalJson } from 'tessera';

/**
 * Resume check of the annotations a training run's losses read (SCAL's and MDL's targets come from
 * each sample's correspondence, not from its pixels). Public through 'tessera/model': the imported
 * model's FlowMatchingProgram and MOSAIC's training program write and compare it the same way.
 */

/** An annotation as far as this reads it: the id, K and the correspondence (any JSON). */
interface Annotated {
  readonly annotation: { readonly id: string; readonly k: number; readonly correspondence?: unknown };
}

/**
 * `<count>:<sha256 prefix>` of the samples' ids, K and correspondences, in order, each as
 * canonical JSON (sorted keys): equal annotations give equal digests whatever their key order.
 */
export function annotationsDigest(samples: readonly Annotated[]): string {
  const hash = createHash('sha256');
  for (const s of samples) {
    const a = s.annotation;
    hash.update(canonicalJson({ id: a.id, k: a.k, correspondence: a.correspondence ?? null }));
    hash.update('\n');
  }
  return `${samples.length}:${hash.digest('hex').slice(0, 16)}`;
}

/**
 * Why a checkpoint with metadata `meta` cannot resume a run whose metadata is `mine`, as far as the
 * annotations under `key` go. A run whose losses read no annotations has no `key` and checks
 * nothing (its checkpoints, old or new, resume as before). One that does needs the checkpoint's
 * digest to match; a checkpoint written before the key existed cannot show which annotations it
 * trained on, so it is refused with what to do rather than silently resumed on other targets.
 */
export function annotationDifferences(meta: Readonly<Record<string, string>>, mine: Readonly<Record<string, string>>, key: string, losses: string): string[] {
  const now = mine[key];
  if (now === undefined) return [];
  const saved = meta[key];
  if (saved === undefined) {
    return [
      `the checkpoint has no ${key} (written before annotation hashes were recorded), so the annotations its ${losses} trained on cannot be checked against this graph's; ` +
        'resume it with the version that wrote it',
    ];
  }
  if (saved !== now) return [`the samples' annotations read by ${losses} (count:hash of ids, K and correspondences) differ: ${saved} in the checkpoint, ${now} in this graph`];
  return [];
}
