// A test plugin whose nodes open a tiny ONNX session without a provider option, so the
// provider the executor's scope hands them shows in their output (test/engine/provider.test.ts,
// test/server/provider.test.ts).
import { defineNode, definePlugin } from 'tessera';
import { Graph, KernelSession, Tensor } from 'tessera/kernels';

function negModel() {
  const g = new Graph();
  const x = g.input('x', [3]);
  return g.toModel({ y: x.neg() });
}

async function openAndRun(): Promise<{ provider: string; y: number[] }> {
  const s = await KernelSession.create(negModel());
  try {
    return { provider: s.provider, y: (await s.run({ x: Tensor.from([1, -2, 3]) })).y!.toArray() as number[] };
  } finally {
    await s.release();
  }
}

export const providerTestPlugin = definePlugin({
  name: 'provtest',
  version: '1.0.0',
  nodes: [
    defineNode({
      type: 'provtest/Neg', title: 'Neg', category: 'test', description: 'Opens an ONNX session without a provider option.', version: '1.0.0',
      inputs: { after: { type: 'ANY', optional: true } }, outputs: { provider: { type: 'STRING' }, y: { type: 'JSON' } },
      params: { type: 'object', properties: { tag: { type: 'string', default: '' } }, additionalProperties: false },
      execute: async () => openAndRun(),
    }),
    defineNode({
      type: 'provtest/NegStream', title: 'Neg stream', category: 'test', description: 'Opens a session inside each step of its generator.', version: '1.0.0',
      inputs: {}, outputs: { provider: { type: 'STRING', stream: true } },
      cache: 'never',
      async *execute() {
        for (let i = 0; i < 2; i++) yield { provider: (await openAndRun()).provider };
      },
    }),
  ],
});

