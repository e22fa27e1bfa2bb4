import { decodeModel } from '../onnx/decodeModel.ts';
import { encodeModel } from '../onnx/encodeModel.ts';
import { DTYPE_CODE, type OnnxModel } from '../onnx/OnnxModel.ts';

/**
 * Graph rewrites of onnxruntime's optimiser that produce ops without a double kernel on the CPU
 * provider. QuickGeluFusion turns x·σ(x) (and x·σ(αx)) into com.microsoft.QuickGelu, which is
 * float-only, so any float64 session computing SiLU forward-only failed to load (issue 13).
 */
export const FLOAT64_UNSAFE_OPTIMIZERS: readonly string[] = ['QuickGeluFusion'];

/** A model ready for `InferenceSession.create`: its bytes and the optimisers to switch off for it. */
export interface SessionModel {
  bytes: Uint8Array;
  disabledOptimizers: readonly string[];
}

const FLOAT64_CODE = DTYPE_CODE.float64;

/**
 * Whether any tensor of the main graph may be float64: a float64 input, output, value-info or
 * initializer, a Cast/RandomNormal-style `to`/`dtype` attribute naming double, or a double tensor
 * attribute (Constant). Subgraphs stay opaque; they cannot introduce doubles without one of these.
 */
export function computesInFloat64(model: OnnxModel): boolean {
  const g = model.graph;
  for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo, ...g.initializers]) if (v.dtype === 'float64') return true;
  for (const n of g.nodes) {
    for (const a of n.attributes) {
      if (a.type === 'int' && (a.name === 'to' || a.name === 'dtype') && a.value === FLOAT64_CODE) return true;
      if (a.type === 'tensor' && a.value.dtype === 'float64') return true;
    }
  }
  return false;
}

/**
 * Encodes (or decodes, for bytes) once and picks the optimiser exclusions: float64 models lose
 * the fusions in {@link FLOAT64_UNSAFE_OPTIMIZERS}; float32 models keep full optimisation.
 */
export function sessionModel(model: Uint8Array | OnnxModel): SessionModel {
  if (!(model instanceof Uint8Array)) return { bytes: encodeModel(model), disabledOptimizers: exclusions(model) };
  let decoded: OnnxModel;
  try {
    decoded = decodeModel(model);
  } catch {
    // Bytes our decoder cannot read go to onnxruntime unchanged: it reports its own load error,
    // and a model we cannot inspect keeps full optimisation as before.
    return { bytes: model, disabledOptimizers: [] };
  }
  return { bytes: model, disabledOptimizers: exclusions(decoded) };
}

function exclusions(model: OnnxModel): readonly string[] {
  return computesInFloat64(model) ? FLOAT64_UNSAFE_OPTIMIZERS : [];
}
