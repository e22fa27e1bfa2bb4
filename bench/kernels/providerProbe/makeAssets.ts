/**
 * Provider probe (not a test): writes the probe's models into runs/device-probe/ so that
 * probe.mjs (plain JS: needs only node + onnxruntime-node) can check which execution providers
 * work on another machine (e.g. a GPU box) and whether they agree with cpu.
 *
 *   node --import tsx bench/kernels/providerProbe/makeAssets.ts
 *   cp bench/kernels/providerProbe/probe.mjs runs/device-probe/ && node runs/device-probe/probe.mjs
 *
 * runPacked.sh runs it on a machine without node: it expects runs/device-probe/pkg/ to hold
 * node.tar.gz (the node binary), ort.tar.gz (node_modules/onnxruntime-node's linux-x64 binaries,
 * dist, package.json and onnxruntime-common) and libvulkan.so.1 (Debian libvulkan1).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Graph, adamw, init, ops as o, transformerBlock, transformerBlockParams, weightedMSE } from '../../../kernels/index.ts';
import { encodeModel } from '../../../kernels/onnx/encodeModel.ts';
import { buildStepGraph } from '../../../kernels/train/buildStep.ts';

const dir = 'runs/device-probe';
mkdirSync(dir, { recursive: true });
const g = new Graph();
const x = g.input('x', [8, 64]);
const w = g.param('w', [64, 64], { init: init.normal(0.1) });
const gam = g.param('gam', [64], { init: init.ones() });
writeFileSync(`${dir}/small.onnx`, encodeModel(g.toModel({ h: o.layerNorm(o.gelu(x.matmul(w)), gam, null).softmax() })));
const g2 = new Graph();
const a = g2.input('a', [1024, 1024]);
const b = g2.input('b', [1024, 1024]);
writeFileSync(`${dir}/matmul.onnx`, encodeModel(g2.toModel({ c: a.matmul(b) })));
const built = buildStepGraph(
  (gg) => {
    const xx = gg.input('x', [4, 512, 128]);
    const yy = gg.input('y', [4, 512, 128]);
    const p = transformerBlockParams(gg, 'blk', 128, 512);
    return { loss: weightedMSE(transformerBlock(xx, p, { heads: 4 }).out, yy) };
  },
  { dtype: 'float32', optimizer: adamw({ lr: 1e-3 }) },
);
writeFileSync(`${dir}/step.onnx`, encodeModel(built.model));
writeFileSync(`${dir}/step.json`, JSON.stringify({ n: built.layout.trainableSize }));
