import { defineNode } from 'tessera';
import { saveParamsFile } from 'tessera/kernels';
import { encodePng } from 'tessera/image';
import { lossCurveImage, lossCurveSvg } from '../lossCurve.ts';
import { runTraining, type TrainSettings } from '../runTraining.ts';
import { isTrainable } from '../Trainable.ts';

const num = (def: number, minimum: number, maximum: number, description: string) => ({ type: 'number', default: def, minimum, maximum, description }) as const;
const int = (def: number, minimum: number, maximum: number, description: string) => ({ type: 'integer', default: def, minimum, maximum, description }) as const;

/**
 * Trains whatever is wired into its MODEL input: the model's losses and adapters are compiled
 * into one ONNX training step per variant (forward, backward, clipping, AdamW).
 */
export const Train = defineNode({
  type: 'train/Train',
  title: 'Train',
  category: 'training',
  description:
    'Compiles the MODEL handle (network + every loss node wired into it) into one ONNX training-step graph and runs AdamW with warm-up/cosine LR, gradient clipping, optional EMA, checkpoints every N steps with exact resume, and a loss-curve PNG/SVG.',
  version: '1.0.0',
  output: true,
  // It writes checkpoints and curves into this run; with resume on, a re-run of a finished
  // training is a quick load of its last checkpoint rather than a cached handle from another run.
  cache: 'never',
  inputs: {
    model: { type: 'MODEL', description: 'A trainable MODEL handle (e.g. from mosaic/SCALoss).' },
    data: { type: 'SEMALIGN_SAMPLES|DATASET', description: 'Training samples.' },
  },
  outputs: {
    model: { type: 'MODEL', description: 'The same handle carrying the trained (or EMA) weights.' },
    history: { type: 'JSON', description: 'Per-step rows: step, loss, gradNorm and each loss term.' },
    curve: { type: 'IMAGE', description: 'Loss curves, one panel per term.' },
    checkpoint: { type: 'STRING', description: 'Absolute path of the last checkpoint.' },
    summary: { type: 'JSON', description: 'Steps, wall time, samples/s, provider, resume point.' },
  },
  params: {
    type: 'object',
    properties: {
      steps: int(200, 1, 10_000_000, 'Total optimisation steps (a resumed run counts the steps already done; changing it means a new run: the LR schedule is planned over it).'),
      batchSize: int(4, 1, 4096, 'Samples per step.'),
      lr: num(1e-3, 0, 10, 'Peak learning rate.'),
      schedule: { type: 'string', enum: ['constant', 'cosine'], default: 'cosine', description: 'After warm-up: constant, or cosine decay to lr/10.' },
      warmupSteps: int(50, 0, 10_000_000, 'Linear LR warm-up steps.'),
      weightDecay: num(0.01, 0, 1, 'AdamW decoupled weight decay (norm gains and biases excluded).'),
      beta1: num(0.9, 0, 0.999999, 'AdamW β1.'),
      beta2: num(0.999, 0, 0.999999, 'AdamW β2.'),
      clipGradNorm: num(1, 0, 1e6, 'Clip the global gradient norm (0: off).'),
      ema: num(0, 0, 0.999999, 'EMA decay of the weights (0: off); the output carries the EMA weights.'),
      checkpointEvery: int(100, 0, 10_000_000, 'Save every N steps (0: only at the end).'),
      keep: int(3, 1, 1000, 'Checkpoints kept on disk.'),
      checkpointDir: { type: 'string', default: '', 'x-path': 'write', description: 'Checkpoint folder inside the workspace (relative paths resolve from its root); "" = <run dir>/checkpoints (no resume across runs).' },
      resume: { type: 'boolean', default: true, description: 'Continue from the newest checkpoint in checkpointDir when there is one.' },
      seed: int(0, 0, 0xffffffff, 'Seeds initialisation, batch order, diffusion times and noise.'),
      weightsFile: { type: 'string', default: '', description: 'Also write the final (or EMA) weights alone, without optimizer state, to this file inside the run directory ("" = do not).' },
      curveFile: { type: 'string', default: 'train/loss.png', description: 'Loss-curve PNG inside the run directory ("" = do not write); an SVG and history.json are written beside it.' },
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    if (!isTrainable(ctx.inputs.model)) throw new TypeError('train/Train: the model input is not a trainable MODEL handle (wire a model node such as mosaic/Model)');
    const program = ctx.inputs.model.trainingProgram(ctx.inputs.data, { steps: p.steps });
    const dir = p.checkpointDir ? await ctx.resolvePath(p.checkpointDir, 'write') : ctx.artifacts.resolvePath('checkpoints');
    const settings: TrainSettings = {
      steps: p.steps,
      batchSize: p.batchSize,
      lr: p.lr,
      schedule: p.schedule as TrainSettings['schedule'],
      warmupSteps: p.warmupSteps,
      weightDecay: p.weightDecay,
      beta1: p.beta1,
      beta2: p.beta2,
      clipGradNorm: p.clipGradNorm,
      ema: p.ema,
      checkpointEvery: p.checkpointEvery,
      keep: p.keep,
      resume: p.resume,
      seed: p.seed,
    };
    let last = 0;
    const r = await runTraining(program, settings, dir, {
      signal: ctx.signal,
      log: (line) => ctx.log.info(line),
      warn: (line) => ctx.log.warn(line),
      onStep: (row, step, total, history) => {
        const now = performance.now();
        if (now - last < 250 && step < total && step % 100 !== 0) return;
        last = now;
        const terms = Object.entries(row).filter(([k]) => k !== 'step' && k !== 'gradNorm').map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' · ');
        // The editor shows the live loss curves as the node's preview (redrawn every 100 steps).
        const preview = step % 100 === 0 || step === total ? lossCurveImage(history) : undefined;
        ctx.progress(step, total, terms, preview);
      },
    });
    const curve = lossCurveImage(r.history);
    if (p.curveFile) {
      await ctx.artifacts.write(p.curveFile, encodePng(curve));
      await ctx.artifacts.write(p.curveFile.replace(/\.png$/i, '') + '.svg', lossCurveSvg(r.history));
      await ctx.artifacts.write(p.curveFile.replace(/[^/]*$/, '') + 'history.json', JSON.stringify(r.history) + '\n');
    }
    if (p.weightsFile) await saveParamsFile(ctx.artifacts.resolvePath(p.weightsFile), program.weightsOf?.(r.params) ?? r.params, { ...program.metadata, step: String(r.step) });
    ctx.progress(r.step, p.steps, 'loss curves', curve);
    const summary = { steps: r.step, resumedFrom: r.resumedFrom, seconds: r.seconds, samplesPerSecond: r.samplesPerSecond, provider: r.provider, checkpoint: r.checkpoint };
    ctx.log.info(`train: ${r.step} steps, ${r.seconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(1)} samples/s → ${r.checkpoint}`);
    // With EMA the handle's weights are the average, which only the weights file holds.
    const source = p.weightsFile ? ctx.artifacts.resolvePath(p.weightsFile) : p.ema > 0 ? `${r.checkpoint} (EMA weights)` : r.checkpoint;
    return { model: program.withWeights(r.params, { step: r.step, source }), history: r.history, curve, checkpoint: r.checkpoint, summary };
  },
});

