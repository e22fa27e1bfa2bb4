import { defineNode, type ImageValue } from 'tessera';
import { encodePng } from 'tessera/image';
import { contactSheet } from 'tessera/semalign';
import { isPair } from '../pairs.ts';
import { writePairsDataset } from '../pairsDataset.ts';

const BLANK: ImageValue = { width: 1, height: 1, channels: 3, data: new Uint8Array(3) };

/** Preference pairs for DPO from SemAlign-Synth's DIP pairs, written as a dataset and previewed. */
export const PreferencePairs = defineNode({
  type: 'focusdpo/PreferencePairs',
  title: 'FocusDPO: preference pairs',
  category: 'focusdpo',
  description:
    'DIP preference pairs from SemAlign-Synth samples: winner = the target, loser = the DIP image (one subject swapped or with a leaked attribute), prior mask = its changed pixels. Optionally written as a resumable dataset (PNG triples + pairs.json, atomic writes) and previewed as a contact sheet. (On-policy pairs ranked by the ground-truth reward are not implemented yet.)',
  version: '1.0.0',
  output: true,
  inputs: { samples: { type: 'SEMALIGN_SAMPLES', description: 'SemAlign-Synth samples generated with dip ≠ none.' } },
  outputs: {
    pairs: { type: 'SEMALIGN_SAMPLES', description: 'The samples that carry a pair (winner = target, loser, dipMask): train/Train data for focusdpo/DPOLoss.' },
    sheet: { type: 'IMAGE', description: 'Contact sheet: references | winner | loser | prior mask.' },
    summary: { type: 'JSON', description: 'Pairs kept, samples without a pair, pairs per DIP kind, dataset files written / already present.' },
  },
  params: {
    type: 'object',
    properties: {
      source: { type: 'string', enum: ['dip'], default: 'dip', description: 'dip: SemAlign-Synth DIP pairs (the only source implemented).' },
      maxPairs: { type: 'integer', default: 100000, minimum: 1, maximum: 10000000, description: 'Keep at most this many pairs (in input order).' },
      dir: { type: 'string', default: '', 'x-path': 'write', description: 'Dataset folder inside the workspace ("" = do not write). Re-running resumes: pairs already listed with their files are skipped.' },
      sheetRows: { type: 'integer', default: 6, minimum: 0, maximum: 64, description: 'Pairs on the contact sheet (0: none).' },
      scale: { type: 'integer', default: 3, minimum: 1, maximum: 16, description: 'Contact sheet upscale factor.' },
      file: { type: 'string', default: 'focusdpo/pairs.png', description: 'Contact sheet PNG inside the run directory ("" = do not write).' },
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const samples = ctx.inputs.samples;
    const pairs = samples.filter(isPair).slice(0, p.maxPairs);
    if (pairs.length === 0) throw new RangeError(`focusdpo/PreferencePairs: none of the ${samples.length} samples carries a DIP pair; generate them with semalign/Generate dip ≠ none`);
    const kinds: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const s of pairs) kinds[s.annotation.dip!.kind] = (kinds[s.annotation.dip!.kind] ?? 0) + 1;
    let dataset: { dir: string; written: number; skipped: number } | null = null;
    if (p.dir) {
      const dir = await ctx.resolvePath(p.dir, 'write');
      dataset = { dir, ...(await writePairsDataset(dir, pairs, ctx.signal)) };
      ctx.log.info('focusdpo/PreferencePairs: dataset', dataset);
    }
    const shown = pairs.slice(0, p.sheetRows);
    const sheet = shown.length ? contactSheet(shown, { scale: p.scale, lines: 0, dip: true }) : BLANK;
    if (p.file && shown.length) await ctx.artifacts.write(p.file, encodePng(sheet));
    ctx.progress(1, 1, `${pairs.length} pairs`, sheet);
    return { pairs, sheet, summary: { pairs: pairs.length, withoutPair: samples.length - samples.filter(isPair).length, kinds: { ...kinds }, dataset } };
  },
});
