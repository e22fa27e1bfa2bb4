/**
 * The name map of an import: which tessera params each ONNX initializer became, and the PyTorch
 * names behind exporter-made initializers. With constant folding (the exporter's default)
 * torch 1.13 stores `nn.Linear` weights transposed under made-up names (`qkv.weight` becomes
 * `onnx::MatMul_151`, [in, out]); the scoped node names (`/blocks.0/attn/qkv/MatMul`) still say
 * which module read them. Pure: works on the decoded graph only.
 */
import type { OnnxNode } from '../onnx/OnnxModel.ts';

/** One tessera param made from an ONNX initializer. */
export interface ImportedParam {
  /** The tessera param name (the import's prefix + the ONNX tensor name it replays). */
  param: string;
  /** The ONNX initializer its values came from (differs from the tensor name for untied copies). */
  initializer: string;
  /** Names of the ONNX nodes that read it. */
  consumers: string[];
  /** PyTorch module path of its first consumer ('/blocks.0/attn/qkv/MatMul' → 'blocks.0.attn.qkv'), or null. */
  module: string | null;
  /**
   * The PyTorch parameter it most likely is: the initializer name when the exporter kept it,
   * `<module>.weight` / `<module>.bias` for exporter-named ones ('onnx::…') read by a
   * MatMul, Gemm, Conv or Add, else null.
   */
  torchName: string | null;
  /** Stored as the transpose of `torchName` (a folded nn.Linear weight read by MatMul). */
  transposed: boolean;
}

/**
 * The PyTorch module path in a scoped node name. Scopes may repeat their parent's path
 * ('/mlp/mlp.0/MatMul', '/blocks.0/mlp/mlp.0/MatMul') or not
 * ('/blocks.0/attn/qkv/MatMul'); all give the dotted path ('blocks.0.mlp.0').
 */
export function modulePath(nodeName: string | undefined): string | null {
  if (!nodeName || !nodeName.startsWith('/')) return null;
  const parts: string[] = [];
  for (const s of nodeName.split('/').slice(1, -1).filter(Boolean)) {
    // A scope may repeat the whole path so far, or only its parent's own name ('mlp' → 'mlp.0').
    if (parts.length && s.startsWith(parts.join('.') + '.')) parts.splice(0, parts.length, s);
    else if (parts.length && s.startsWith(parts.at(-1) + '.')) parts[parts.length - 1] = s;
    else parts.push(s);
  }
  return parts.length ? parts.join('.') : null;
}

/** Names the exporter invents for folded or deduplicated constants. */
const EXPORTER_NAMED = /^onnx::/;

/** What an initializer read by `node` at input `slot` was in PyTorch (see ImportedParam.torchName). */
export function torchNameOf(initializer: string, dims: readonly number[], node: OnnxNode | undefined, slot: number): { torchName: string | null; transposed: boolean } {
  if (!EXPORTER_NAMED.test(initializer)) return { torchName: initializer, transposed: false };
  const module = modulePath(node?.name);
  if (!node || !module) return { torchName: null, transposed: false };
  if (node.opType === 'MatMul' && slot === 1 && dims.length === 2) return { torchName: `${module}.weight`, transposed: true };
  if ((node.opType === 'Gemm' || node.opType === 'Conv') && slot === 1) {
    const transB = node.attributes.find((a) => a.name === 'transB')?.value;
    return { torchName: `${module}.weight`, transposed: node.opType === 'Gemm' && !transB };
  }
  if ((node.opType === 'Gemm' || node.opType === 'Conv') && slot === 2) return { torchName: `${module}.bias`, transposed: false };
  if (node.opType === 'Add' && dims.length === 1) return { torchName: `${module}.bias`, transposed: false };
  return { torchName: null, transposed: false };
}

/** Nodes reading each tensor, in graph order. */
export function consumersOf(nodes: readonly OnnxNode[]): Map<string, { node: OnnxNode; slot: number }[]> {
  const out = new Map<string, { node: OnnxNode; slot: number }[]>();
  for (const node of nodes) {
    node.inputs.forEach((name, slot) => {
      if (!name) return;
      let list = out.get(name);
      if (!list) out.set(name, (list = []));
      list.push({ node, slot });
    });
  }
  return out;
}
