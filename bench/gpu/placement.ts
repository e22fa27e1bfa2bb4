/**
 * Placement report (not a test): builds the transformer-block training step graph, runs a few
 * steps with onnxruntime's profiler on, and prints per op type which provider ran it, how many
 * nodes, the kernel time per step and its share. On a machine without a WebGPU adapter the
 * session falls back to cpu (one line on stderr) and every row says CPUExecutionProvider.
 *
 *   node --import tsx bench/gpu/placement.ts [--provider cpu|webgpu|auto] [--steps 5] [--json]
 *
 * Which op types the WebGPU EP lacks is read from the provider column of a run on a machine that
 * has an adapter; this script does not guess it from a list (docs/kernels.md says why).
 * The profiling itself is placementProfile.ts (the packed GPU probe, probe.ts, calls it too).
 */
import { PROVIDER_SETTINGS, isProviderSetting } from '../../kernels/runtime/provider.ts';
import { profilePlacement } from './placementProfile.ts';
import { formatPlacement } from './placementTable.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const setting = arg('provider') ?? 'auto';
if (!isProviderSetting(setting)) {
  process.stderr.write(`placement: --provider must be one of ${PROVIDER_SETTINGS.join(', ')}\n`);
  process.exit(2);
}
const STEPS = Number(arg('steps') ?? 5);
if (!Number.isInteger(STEPS) || STEPS < 1 || STEPS > 1000) {
  process.stderr.write('placement: --steps must be an integer in 1..1000\n');
  process.exit(2);
}

const r = await profilePlacement(setting === 'auto' ? 'webgpu' : setting, STEPS);
const { B, T, D, H, HID } = r.shape;
if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({ requested: setting, provider: r.provider, steps: STEPS, shape: r.shape, rows: r.rows, graphOps: Object.fromEntries(r.graphOps) }) + '\n');
} else {
  console.log(`transformer-block step B=${B} T=${T} D=${D} heads=${H} hidden=${HID}; requested ${setting}, session on ${r.provider}; ${STEPS} steps profiled`);
  console.log(`graph before ORT optimisation: ${r.graphNodes} nodes, ${r.graphOps.size} op types`);
  console.log(formatPlacement(r.rows, STEPS));
}
