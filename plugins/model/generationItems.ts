import type { ImageValue } from 'tessera';
import type { ImportedModel } from './ImportedModel.ts';
import { referenceSamples, trainingImages } from './images.ts';
import type { GenerationItem } from './sampleImported.ts';

export interface GenerationPlan {
  readonly items: GenerationItem[];
  /** Per item the image the sheet shows next to its generation: a sample's target, a listed image, or none. */
  readonly targets: (ImageValue | undefined)[];
  /** The data items generated for (the first `count`), as given: SemAlign samples for the metrics, or []. */
  readonly samples: unknown[];
}

const sampleId = (x: unknown): string | undefined => {
  const id = (x as { annotation?: { id?: unknown } } | null)?.annotation?.id;
  return typeof id === 'string' ? id : undefined;
};

/**
 * What model/Sample generates from its data: with a condition fed from references, one item per
 * SemAlign sample (its K references; a sample with another K fails when sampled, naming it);
 * otherwise one per listed image or sample (the data then only names the items and gives the
 * sheet its comparison image), or `count` unconditional items (image-0, image-1, …) without data. `count` 0 = all data.
 */
export function generationItems(model: ImportedModel, data: unknown, count: number): GenerationPlan {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`model/Sample: count must be a non-negative integer, got ${count}`);
  if (data === undefined || data === null) {
    if (model.conditionRefs) throw new RangeError(`model/Sample: the condition input '${model.mapping.condition}' takes each sample's ${model.conditionRefs} reference image${model.conditionRefs > 1 ? 's' : ''}; wire SemAlign samples into data`);
    if (!count) throw new RangeError('model/Sample: without data, set count to the number of images to generate');
    return { items: Array.from({ length: count }, (_, i) => ({ id: `image-${i}` })), targets: new Array(count).fill(undefined), samples: [] };
  }
  if (!Array.isArray(data)) throw new TypeError(`model/Sample: data must be a list of SemAlign samples or images, got ${typeof data}`);
  if (count > data.length) throw new RangeError(`model/Sample: count is ${count} but data has ${data.length} item${data.length === 1 ? '' : 's'} (0 generates one per item)`);
  const chosen = count ? data.slice(0, count) : data;
  if (model.conditionRefs || chosen.every((x) => sampleId(x) !== undefined)) {
    // Without a condition fed from them, the samples' references are only drawn on the sheet (checked all the same).
    const samples = referenceSamples(chosen, model.conditionRefs ? 'a condition fed from references' : 'the contact sheet', 'sampling');
    return { items: samples.map((s) => ({ id: s.annotation.id, refs: s.refs })), targets: samples.map((s) => s.target), samples: chosen };
  }
  const images = trainingImages(chosen, 'sampling');
  return { items: images.map((_, i) => ({ id: `image-${i}` })), targets: images, samples: [] };
}
