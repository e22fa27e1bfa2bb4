import { CODE_DTYPE, type OnnxAttribute, type OnnxModel, type OnnxTensor } from '../onnx/OnnxModel.ts';
import { Tensor } from '../runtime/Tensor.ts';
import type { Graph } from './Graph.ts';
import { einsum } from './einsum.ts';
import { foldOnHost, hostValueOf, onnxTensorOf, type HostValue } from './hostFold.ts';
import { init } from './init.ts';
import { instanceNorm } from './normalization.ts';
import * as o from './ops.ts';
import type { Sym } from './Sym.ts';
import { resize, type ResizeOptions } from './resize.ts';
import { closeNames } from './closeNames.ts';
import { TraceError } from './TraceError.ts';
import { widenHalf } from '../onnx/float16.ts';
import { consumersOf, modulePath, torchNameOf, type ImportedParam } from './importNames.ts';
import { applyRewrites, checkAllMatched, newTallies, type NodeRewrite, type RewriteSite } from './importRewrite.ts';

export interface ImportOptions {
  /**
   * Float initializers become named parameters (`prefix + name`) instead of constants, so an
   * imported network can be fine-tuned, frozen as a reference, or wrapped with adapters.
   */
  params?: 'constant' | 'trainable' | 'frozen';
  prefix?: string;
  /**
   * The PyTorch exporter merges initializers with equal values (e.g. every fresh LayerNorm's
   * ones and zeros) into one, re-exposing the others through Identity nodes. 'untie' (default)
   * gives each such name its own param with the same initial values, as in the PyTorch model;
   * 'keep' trains them as one shared param.
   */
  tiedWeights?: 'untie' | 'keep';
  /**
   * Graph surgery: each rewrite wraps or replaces the outputs of the nodes it matches, and later
   * nodes read its result (see NodeRewrite). A rewrite that matches nothing is an error.
   */
  rewrites?: readonly NodeRewrite[];
}

/** What `importOnnxModel` returns: every tensor by ONNX name, and the name map of its params. */
export interface ImportResult {
  tensors: Record<string, Sym>;
  /** ONNX initializer name → the tessera params made from it (several when untied), in creation order. */
  names: Map<string, ImportedParam[]>;
}

function attr(n: { attributes: OnnxAttribute[] }, name: string): OnnxAttribute['value'] | undefined {
  return n.attributes.find((a) => a.name === name)?.value;
}

/**
 * Replays a decoded ONNX graph (e.g. an exported encoder) inside a traced `Graph`, so its
 * tensors become differentiable `Sym`s: every intermediate is exposed by name, and the result can
 * feed losses, adapters or training steps. Covers the common inference ops (MatMul, Gemm,
 * elementwise math, activations, Softmax, LayerNormalization, Conv, Reshape/Transpose/Concat,
 * reductions, Gather, Constant); any other op is a TraceError naming the node.
 *
 * @example
 * const model = await loadOnnxFile('encoder.onnx');
 * const g = new Graph();
 * const t = importOnnx(g, model, { pixels: g.input('pixels', [1, 3, 224, 224]) }, { params: 'frozen', prefix: 'enc.' });
 * const features = t['/blocks.3/Add_output_0'];        // any inner tensor by its ONNX name
 */
export function importOnnx(g: Graph, model: OnnxModel, inputs: Record<string, Sym>, options: ImportOptions = {}): Record<string, Sym> {
  return importOnnxModel(g, model, inputs, options).tensors;
}

/**
 * `importOnnx` that also returns the name map: for each ONNX initializer, the params it became,
 * the nodes reading it and its PyTorch name where the exporter renamed it (see ImportedParam).
 * Float16 initializers and constants are widened to the graph's float type (losslessly), and
 * Cast to float16 becomes a cast to it, so a half-precision export trains in float32.
 *
 * @example
 * const { tensors, names } = importOnnxModel(g, model, { x, t }, { params: 'trainable' });
 * names.get('onnx::MatMul_151')![0];   // { param: 'onnx::MatMul_151', torchName: 'qkv.weight', transposed: true, … }
 */
export function importOnnxModel(g: Graph, model: OnnxModel, inputs: Record<string, Sym>, options: ImportOptions = {}): ImportResult {
  // ONNX tensor names are the file's words: a null-prototype record, never a plain object.
  const env: Record<string, Sym> = Object.assign(Object.create(null) as Record<string, Sym>, inputs);
  const given = new Set(Object.keys(inputs));
  const raw = new Map<string, OnnxTensor>();
  const mode = options.params ?? 'constant';
  const prefix = options.prefix ?? '';
  const fromConstantNodes = new Set<string>();
  for (const t of model.graph.initializers) {
    if (t.external) throw new TraceError('importOnnx', `initializer '${t.name}' is stored in external file '${t.external.location}', which was not read: load the model with loadOnnxFile (or resolveExternalData)`);
    raw.set(t.name, t.dtype === 'float16' ? { ...t, dtype: g.dtype, data: widenHalf(t.data as Uint16Array, g.dtype) } : t);
  }
  const consumers = consumersOf(model.graph.nodes);
  const names = new Map<string, ImportedParam[]>();
  // Untied copies: the alias tensor name → the initializer it copies.
  const aliasOf = new Map<string, string>();
  const rewrites = options.rewrites ?? [];
  const tallies = newTallies(rewrites);
  // Tensors that are a param seen through Transpose/Cast/Identity → that param's tensor name.
  const weightOf = new Map<string, string>();
  const initNames = new Set(raw.keys());
  for (const i of model.graph.inputs) {
    if (!initNames.has(i.name) && !env[i.name]) throw new TraceError('importOnnx', `graph input '${i.name}' has no tensor in 'inputs'`);
  }
  // Tensors an entry of `inputs` may replace: graph inputs, initializers and the names tied
  // initializers are re-exposed under. Anything else would be silently ignored (a typo trains nothing).
  const aliases = model.graph.nodes.filter((n) => n.opType === 'Identity' && initNames.has(n.inputs[0]!)).map((n) => n.outputs[0]!);
  const replaceable = new Set([...model.graph.inputs.map((i) => i.name), ...initNames, ...aliases]);
  for (const name of given) {
    if (replaceable.has(name)) continue;
    const near = closeNames(name, replaceable);
    throw new TraceError('importOnnx', `'inputs' names '${name}', which is no graph input or initializer${near.length ? `; close names: ${near.join(', ')}` : ''}`);
  }
  const get = (name: string, node: string): Sym => {
    if (env[name]) return env[name]!;
    const t = raw.get(name);
    if (!t) throw new TraceError('importOnnx', `node ${node} reads unknown tensor '${name}'`);
    const tensor = new Tensor(t.dtype, t.dims, t.data as Float32Array);
    const isFloat = t.dtype === 'float32' || t.dtype === 'float64';
    let s: Sym;
    if (isFloat && mode !== 'constant' && !fromConstantNodes.has(name)) {
      if (t.dtype !== g.dtype) throw new TraceError('importOnnx', `initializer '${name}' is ${t.dtype}, graph is ${g.dtype}`);
      s = g.param(prefix + name, t.dims, { init: init.values(tensor), trainable: mode === 'trainable' });
      const initializer = aliasOf.get(name) ?? name;
      const readers = consumers.get(name) ?? [];
      const first = readers[0];
      const entry: ImportedParam = {
        param: prefix + name,
        initializer,
        consumers: readers.map((r) => r.node.name || r.node.outputs[0]!),
        module: modulePath(first?.node.name),
        ...torchNameOf(name, t.dims, first?.node, first?.slot ?? 0),
      };
      const list = names.get(initializer);
      if (list) list.push(entry);
      else names.set(initializer, [entry]);
    } else {
      s = g.constant(tensor);
    }
    env[name] = s;
    return s;
  };
  const ints = (name: string, node: string): number[] => {
    const t = raw.get(name);
    if (!t) throw new TraceError('importOnnx', `node ${node} needs constant '${name}', but it depends on run-time values`);
    return Array.from(t.data as ArrayLike<number | bigint>, Number);
  };
  // Host constants: int/bool initializers, Constant nodes and folded shape arithmetic. Float
  // initializers are excluded, as they may be weights the caller trains.
  const hostValue = (name: string): HostValue | undefined => {
    // A caller's tensor is run-time; a constant already read by a traced op (env holds its
    // g.constant) is still known here: later shape arithmetic may reuse a deduplicated Constant.
    if (given.has(name)) return undefined;
    const t = raw.get(name);
    if (!t || (!fromConstantNodes.has(name) && (t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16'))) return undefined;
    return hostValueOf(t);
  };
  const shapeOf = (name: string) => env[name]?.shape ?? raw.get(name)?.dims;

  for (const [position, n] of model.graph.nodes.entries()) {
    // Name, position in the node list and op type: enough to find the node in Netron.
    const label = `'${n.name || n.outputs[0]}' (#${position}, ${n.opType})`;
    if (n.domain && n.domain !== 'ai.onnx') throw new TraceError('importOnnx', `node ${label}: domain '${n.domain}' is not supported`);
    let folded: HostValue[] | undefined;
    try {
      folded = n.opType === 'Constant' ? undefined : foldOnHost(n, { value: hostValue, shape: shapeOf });
    } catch (e) {
      throw new TraceError('importOnnx', `node ${label}: cannot fold on the host: ${(e as Error).message}`);
    }
    // A tied initializer behind Identity: its own param (same values) unless the caller keeps ties.
    if (n.opType === 'Identity' && raw.has(n.inputs[0]!) && !fromConstantNodes.has(n.inputs[0]!) && (options.tiedWeights ?? 'untie') === 'untie') {
      const out = n.outputs[0]!;
      if (!env[out]) raw.set(out, { ...raw.get(n.inputs[0]!)!, name: out });
      aliasOf.set(out, aliasOf.get(n.inputs[0]!) ?? n.inputs[0]!);
      continue;
    }
    // A caller's replacement for a tied name wins over the Identity that would produce it.
    if (n.opType === 'Identity' && given.has(n.outputs[0]!)) continue;
    if (folded) {
      n.outputs.forEach((name, i) => {
        if (!name || !folded[i]) return;
        raw.set(name, onnxTensorOf(name, folded[i]));
        fromConstantNodes.add(name);
      });
      continue;
    }
    const x = (i: number) => get(n.inputs[i]!, label);
    const has = (i: number) => !!n.inputs[i];
    let outs: Sym[];
    switch (n.opType) {
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Pow': {
        const f = { Add: o.add, Sub: o.sub, Mul: o.mul, Div: o.div, Pow: o.pow }[n.opType];
        outs = [f(x(0), x(1))];
        break;
      }
      case 'MatMul':
        outs = [o.matmul(x(0), x(1))];
        break;
      case 'Gemm':
        outs = [
          o.gemm(x(0), x(1), has(2) ? x(2) : undefined, {
            alpha: (attr(n, 'alpha') as number) ?? 1,
            beta: (attr(n, 'beta') as number) ?? 1,
            transA: !!attr(n, 'transA'),
            transB: !!attr(n, 'transB'),
          }),
        ];
        break;
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Exp':
      case 'Log':
      case 'Sqrt':
      case 'Neg':
      case 'Abs':
      case 'Erf':
      case 'Sin':
      case 'Cos':
      case 'Not':
      case 'Reciprocal':
      case 'Identity': {
        const f = { Relu: o.relu, Sigmoid: o.sigmoid, Tanh: o.tanh, Exp: o.exp, Log: o.log, Sqrt: o.sqrt, Neg: o.neg, Abs: o.abs, Erf: o.erf, Sin: o.sin, Cos: o.cos, Not: o.not, Reciprocal: o.reciprocal, Identity: (s: Sym) => s }[
          n.opType
        ];
        outs = [f(x(0))];
        break;
      }
      case 'Max':
      case 'Min':
      case 'Equal':
      case 'Less':
      case 'Greater':
      case 'LessOrEqual':
      case 'GreaterOrEqual':
      case 'And': {
        if (n.inputs.length !== 2) throw new TraceError('importOnnx', `node ${label}: expects exactly 2 inputs`);
        const f = { Max: o.maximum, Min: o.minimum, Equal: o.equal, Less: o.less, Greater: o.greater, LessOrEqual: o.lessOrEqual, GreaterOrEqual: o.greaterOrEqual, And: o.and }[n.opType];
        outs = [f(x(0), x(1))];
        break;
      }
      case 'Where':
        outs = [o.where(x(0), x(1), x(2))];
        break;
      case 'Cast': {
        const code = CODE_DTYPE[attr(n, 'to') as number];
        // Half-precision math replays in the graph's float type (its weights were widened too).
        const to = code === 'float16' ? g.dtype : code;
        if (!to) throw new TraceError('importOnnx', `node ${label}: cast to ONNX type ${String(attr(n, 'to'))} is not supported`);
        outs = [o.cast(x(0), to)];
        break;
      }
      case 'Expand':
        outs = [o.expand(x(0), ints(n.inputs[1]!, label))];
        break;
      case 'Slice': {
        // Opset ≥ 10 reads starts/ends/axes/steps from inputs, older exports from attributes.
        const fromInput = (i: number, a: string) => (has(i) ? ints(n.inputs[i]!, label) : (attr(n, a) as number[] | undefined));
        const starts = fromInput(1, 'starts');
        const ends = fromInput(2, 'ends');
        if (!starts || !ends) throw new TraceError('importOnnx', `node ${label}: Slice needs starts and ends`);
        outs = [o.slice(x(0), starts, ends, fromInput(3, 'axes'), has(4) ? ints(n.inputs[4]!, label) : undefined)];
        break;
      }
      case 'Split': {
        const src = x(0);
        const axis = (attr(n, 'axis') as number) ?? 0;
        const d = src.shape[axis < 0 ? axis + src.rank : axis]!;
        const k = n.outputs.length;
        const sizes = has(1) ? ints(n.inputs[1]!, label) : ((attr(n, 'split') as number[] | undefined) ?? Array.from({ length: k }, (_, i) => Math.min(Math.ceil(d / k), d - i * Math.ceil(d / k))));
        outs = o.split(src, sizes, axis);
        break;
      }
      case 'InstanceNormalization':
        outs = [instanceNorm(x(0), x(1), x(2), (attr(n, 'epsilon') as number) ?? 1e-5)];
        break;
      case 'Resize':
      case 'Upsample': {
        const src = x(0);
        // Resize: X, roi, scales, sizes; Upsample (opset < 10): X, scales.
        const scalesAt = n.opType === 'Upsample' ? 1 : 2;
        const hostFloats = (i: number) => (has(i) ? Array.from(raw.get(n.inputs[i]!)?.data as ArrayLike<number | bigint> ?? [], Number) : []);
        const scales = hostFloats(scalesAt);
        const sizes = n.opType === 'Resize' && has(3) ? ints(n.inputs[3]!, label) : [];
        if (has(scalesAt) && !raw.has(n.inputs[scalesAt]!)) throw new TraceError('importOnnx', `node ${label}: scales must be constant`);
        const opts: ResizeOptions = {
          mode: ((attr(n, 'mode') as string) ?? 'nearest') as ResizeOptions['mode'],
          coordinateMode: ((attr(n, 'coordinate_transformation_mode') as string) ?? (n.opType === 'Upsample' ? 'asymmetric' : 'half_pixel')) as ResizeOptions['coordinateMode'],
          nearestMode: ((attr(n, 'nearest_mode') as string) ?? (n.opType === 'Upsample' ? 'floor' : 'round_prefer_floor')) as ResizeOptions['nearestMode'],
        };
        const outShape = sizes.length ? sizes : src.shape.map((dd, i) => Math.floor(dd * (scales[i] ?? 1)));
        try {
          outs = [resize(src, outShape, sizes.length ? undefined : scales, opts)];
        } catch (e) {
          throw new TraceError('importOnnx', `node ${label}: ${(e as Error).message}`);
        }
        break;
      }
      case 'Einsum':
        try {
          outs = [einsum(attr(n, 'equation') as string, ...n.inputs.map((_, i) => x(i)))];
        } catch (e) {
          throw new TraceError('importOnnx', `node ${label}: ${(e as Error).message}`);
        }
        break;
      case 'Gelu':
        if (attr(n, 'approximate') === 'tanh') throw new TraceError('importOnnx', `node ${label}: tanh-approximate Gelu is not supported`);
        outs = [o.gelu(x(0))];
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        const axis = (attr(n, 'axis') as number) ?? -1;
        outs = [n.opType === 'Softmax' ? o.softmax(x(0), axis) : o.logSoftmax(x(0), axis)];
        break;
      }
      case 'Reshape': {
        const src = x(0);
        const shape = ints(n.inputs[1]!, label).map((d, i) => (d === 0 ? src.shape[i]! : d));
        outs = [o.reshape(src, shape)];
        break;
      }
      case 'Flatten': {
        const src = x(0);
        const a = (attr(n, 'axis') as number) ?? 1;
        const ax = a < 0 ? a + src.rank : a;
        outs = [o.reshape(src, [src.shape.slice(0, ax).reduce((p, q) => p * q, 1), -1])];
        break;
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        const src = x(0);
        const axes = has(1) ? ints(n.inputs[1]!, label) : ((attr(n, 'axes') as number[]) ?? []);
        let shape: number[];
        if (n.opType === 'Unsqueeze') {
          const r = src.rank + axes.length;
          const norm = axes.map((a) => (a < 0 ? a + r : a));
          shape = [];
          let k = 0;
          for (let i = 0; i < r; i++) shape.push(norm.includes(i) ? 1 : src.shape[k++]!);
        } else {
          const norm = axes.map((a) => (a < 0 ? a + src.rank : a));
          shape = src.shape.filter((d, i) => (norm.length ? !norm.includes(i) : d !== 1));
        }
        outs = [o.reshape(src, shape)];
        break;
      }
      case 'Transpose':
        outs = [o.transpose(x(0), attr(n, 'perm') as number[] | undefined)];
        break;
      case 'Concat':
        outs = [o.concat(n.inputs.map((_, i) => x(i)), attr(n, 'axis') as number)];
        break;
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax': {
        const axes = has(1) ? ints(n.inputs[1]!, label) : (attr(n, 'axes') as number[] | undefined);
        const keep = ((attr(n, 'keepdims') as number) ?? 1) === 1;
        const f = { ReduceMean: o.mean, ReduceSum: o.sum, ReduceMax: o.max }[n.opType];
        outs = [f(x(0), axes && axes.length ? axes : undefined, keep)];
        break;
      }
      case 'LayerNormalization':
        outs = [o.layerNorm(x(0), x(1), has(2) ? x(2) : null, (attr(n, 'epsilon') as number) ?? 1e-5, (attr(n, 'axis') as number) ?? -1)];
        break;
      case 'Conv': {
        const strides = (attr(n, 'strides') as number[]) ?? [1, 1];
        const pads = (attr(n, 'pads') as number[]) ?? [0, 0, 0, 0];
        if (((attr(n, 'group') as number) ?? 1) !== 1 || strides[0] !== strides[1] || new Set(pads).size > 1 || ((attr(n, 'dilations') as number[]) ?? [1, 1]).some((d) => d !== 1)) {
          throw new TraceError('importOnnx', `node ${label}: only square-stride, symmetric-pad, ungrouped, undilated Conv is supported`);
        }
        outs = [o.conv2d(x(0), x(1), has(2) ? x(2) : undefined, { stride: strides[0], pad: pads[0] })];
        break;
      }
      case 'Gather': {
        const idx = raw.get(n.inputs[1]!);
        outs = [o.gather(x(0), idx && idx.dims.length === 1 ? ints(n.inputs[1]!, label) : x(1), (attr(n, 'axis') as number) ?? 0)];
        break;
      }
      case 'Constant': {
        const v = attr(n, 'value') as OnnxTensor | undefined;
        if (!v) throw new TraceError('importOnnx', `node ${label}: only tensor-valued Constant is supported`);
        raw.set(n.outputs[0]!, v.dtype === 'float16' ? { ...v, name: n.outputs[0]!, dtype: g.dtype, data: widenHalf(v.data as Uint16Array, g.dtype) } : { ...v, name: n.outputs[0]! });
        fromConstantNodes.add(n.outputs[0]!);
        continue;
      }
      default:
        throw new TraceError('importOnnx', `node ${label}: op ${n.opType} is not supported by the importer`);
    }
    if (rewrites.length) {
      const paramTensor = (name: string) => {
        const p = g.params.get(prefix + name);
        return p && env[name] === p.sym ? name : weightOf.get(name);
      };
      // A weight reached through a Transpose/Cast (an unfolded nn.Linear) still counts as the node's weight.
      if ((n.opType === 'Transpose' || n.opType === 'Cast' || n.opType === 'Identity') && n.inputs[0]) {
        const src = paramTensor(n.inputs[0]);
        if (src) weightOf.set(n.outputs[0]!, src);
      }
      const weights = n.inputs.flatMap((input, slot) => {
        const name = input ? paramTensor(input) : undefined;
        if (!name) return [];
        const initializer = aliasOf.get(name) ?? name;
        const entry = names.get(initializer)?.find((e) => e.param === prefix + name);
        return [{ slot, initializer, param: prefix + name, torchName: entry?.torchName ?? null }];
      });
      outs = outs.map((out, index) => {
        const tensor = n.outputs[index];
        if (!tensor) return out;
        const site: RewriteSite = { tensor, index, node: n, module: modulePath(n.name), weights, input: x };
        return applyRewrites(rewrites, tallies, out, site);
      });
    }
    n.outputs.forEach((name, i) => {
      if (name && outs[i]) env[name] = outs[i]!;
    });
  }
  checkAllMatched(rewrites, tallies);
  return { tensors: env, names };
}
