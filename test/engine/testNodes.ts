import { defineNode, definePlugin } from 'tessera';

/**
 * A test node pack in the spirit of ComfyUI's execution tests: nodes that record every call so a
 * test can assert which nodes actually ran.
 */
export function createTestPack() {
  const calls: string[] = [];
  const active = { now: 0, max: 0 };
  const Value = defineNode({
    type: 'test/Value', title: 'Value', category: 'test', description: 'constant', version: '1.0.0',
    inputs: {}, outputs: { value: { type: 'NUMBER' } },
    params: { type: 'object', properties: { value: { type: 'number', default: 0 } } },
    execute: ({ nodeId, params }) => {
      calls.push(nodeId);
      return { value: params.value };
    },
  });
  const Add = defineNode({
    type: 'test/Add', title: 'Add', category: 'test', description: 'a+b', version: '1.0.0',
    inputs: { a: { type: 'NUMBER' }, b: { type: 'NUMBER', optional: true } }, outputs: { value: { type: 'NUMBER' } },
    execute: ({ nodeId, inputs }) => {
      calls.push(nodeId);
      return { value: inputs.a + (inputs.b ?? 0) };
    },
  });
  const Fail = defineNode({
    type: 'test/Fail', title: 'Fail', category: 'test', description: 'throws', version: '1.0.0',
    inputs: { a: { type: 'NUMBER', optional: true } }, outputs: { value: { type: 'NUMBER' } },
    params: { type: 'object', properties: { message: { type: 'string', default: 'boom' } } },
    execute: ({ nodeId, params }) => {
      calls.push(nodeId);
      throw new Error(params.message);
    },
  });
  const Sleep = defineNode({
    type: 'test/Sleep', title: 'Sleep', category: 'test', description: 'async wait', version: '1.0.0',
    inputs: { a: { type: 'NUMBER', optional: true } }, outputs: { value: { type: 'NUMBER' } },
    params: { type: 'object', properties: { ms: { type: 'number', default: 50 } } },
    async execute({ nodeId, inputs, params, signal }) {
      calls.push(nodeId);
      active.now++;
      active.max = Math.max(active.max, active.now);
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, params.ms);
          signal.addEventListener('abort', () => {
            clearTimeout(t);
            reject(signal.reason);
          }, { once: true });
        });
      } finally {
        active.now--;
      }
      return { value: inputs.a ?? 0 };
    },
  });
  const Fingerprinted = defineNode({
    type: 'test/Fingerprinted', title: 'Fingerprinted', category: 'test', description: 'IS_CHANGED', version: '1.0.0',
    inputs: {}, outputs: { value: { type: 'NUMBER' } },
    params: { type: 'object', properties: { source: { type: 'string', default: 'x' } } },
    cache: { fingerprint: (params) => fingerprints.get(String(params.source)) ?? '0' },
    execute: ({ nodeId }) => {
      calls.push(nodeId);
      return { value: Number(fingerprints.get('x') ?? 0) };
    },
  });
  const fingerprints = new Map<string, string>();
  const Random = defineNode({
    type: 'test/Random', title: 'Random', category: 'test', description: 'rng', version: '1.0.0',
    inputs: {}, outputs: { value: { type: 'NUMBER' } },
    execute: ({ nodeId, rng }) => {
      calls.push(nodeId);
      return { value: rng.float() };
    },
  });
  const Source = defineNode({
    type: 'test/Source', title: 'Source', category: 'test', description: 'counts how far it got', version: '1.0.0',
    inputs: {}, outputs: { value: { type: 'NUMBER', stream: true } },
    params: { type: 'object', properties: { count: { type: 'integer', default: 100 } } },
    async *execute({ nodeId, params }) {
      calls.push(nodeId);
      for (let i = 0; i < params.count; i++) {
        produced.count = i + 1;
        yield { value: i };
      }
    },
  });
  const produced = { count: 0 };
  const SlowSink = defineNode({
    type: 'test/SlowSink', title: 'SlowSink', category: 'test', description: 'reads a stream slowly', version: '1.0.0',
    inputs: { stream: { type: 'NUMBER', stream: true } }, outputs: { lead: { type: 'JSON' } },
    params: { type: 'object', properties: { take: { type: 'integer', default: 1000000 } } },
    async execute({ inputs, params }) {
      const lead: number[] = [];
      let read = 0;
      for await (const v of inputs.stream) {
        lead.push(produced.count - v);
        await new Promise((r) => setTimeout(r, 1));
        if (++read >= params.take) break;
      }
      return { lead };
    },
  });
  const plugin = definePlugin({ name: 'test', version: '1.0.0', nodes: [Value, Add, Fail, Sleep, Fingerprinted, Random, Source, SlowSink] });
  return { plugin, calls, active, fingerprints, produced };
}

/** Shorthand for a link. */
export const link = (node: string, output = 'value') => ({ node, output });

/** Wraps a nodes object as a graph document. */
export function graph(nodes: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { format: 'tessera-graph', version: 1, ...extra, nodes } as const;
}
