import { defineNode } from 'tessera';

/** Resolves after `ms`, or rejects when `signal` aborts (so cancellation is prompt). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export const DelayNode = defineNode({
  type: 'core/Delay',
  title: 'Delay',
  category: 'core/flow',
  description: 'Passes its input on after `ms` milliseconds, reporting progress; an async node that overlaps with others.',
  version: '1.0.0',
  inputs: { value: { type: 'ANY', optional: true } },
  outputs: { value: { type: 'ANY' } },
  // At most a day: timers take at most 2^31−1 ms, and a larger value would fire at once.
  params: { type: 'object', properties: { ms: { type: 'number', minimum: 0, maximum: 86_400_000, default: 100 }, steps: { type: 'integer', minimum: 1, default: 10 } }, additionalProperties: false },
  async execute({ inputs, params, signal, progress }) {
    for (let i = 0; i < params.steps; i++) {
      await sleep(params.ms / params.steps, signal);
      progress(i + 1, params.steps);
    }
    return { value: inputs.value };
  },
});

export const CountStreamNode = defineNode({
  type: 'core/CountStream',
  title: 'Count (stream)',
  category: 'core/streams',
  description: 'Streams start, start + step, … (`count` values), optionally `intervalMs` apart. Pulled, so a slow consumer slows it down.',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'NUMBER', stream: true } },
  params: {
    type: 'object',
    properties: { start: { type: 'number', default: 0 }, count: { type: 'integer', minimum: 0, default: 10 }, step: { type: 'number', default: 1 }, intervalMs: { type: 'number', minimum: 0, default: 0 } },
    additionalProperties: false,
  },
  cache: 'never',
  async *execute({ params, signal, progress }) {
    for (let i = 0; i < params.count; i++) {
      if (params.intervalMs > 0) await sleep(params.intervalMs, signal);
      yield { value: params.start + i * params.step };
      progress(i + 1, params.count);
    }
  },
});

export const CollectNode = defineNode({
  type: 'core/Collect',
  title: 'Collect stream',
  category: 'core/streams',
  description: 'Gathers every value of a stream into a list (at most `limit`; stops reading after that).',
  version: '1.0.0',
  inputs: { stream: { type: 'ANY', stream: true } },
  outputs: { list: { type: 'JSON' } },
  params: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, default: 1_000_000 } }, additionalProperties: false },
  async execute({ inputs, params }) {
    const list: unknown[] = [];
    for await (const v of inputs.stream) {
      list.push(v);
      if (list.length >= params.limit) break;
    }
    return { list };
  },
});

export const AssertNode = defineNode({
  type: 'core/Assert',
  title: 'Assert',
  category: 'core/flow',
  description: 'Fails with `message` unless its input is truthy (or equals `equals` when given); passes the value on.',
  version: '1.0.0',
  inputs: { value: { type: 'ANY' } },
  outputs: { value: { type: 'ANY' } },
  params: { type: 'object', properties: { message: { type: 'string', default: 'assertion failed' }, equals: {} }, additionalProperties: false },
  execute: ({ inputs, params }) => {
    const ok = 'equals' in params ? JSON.stringify(inputs.value) === JSON.stringify(params.equals) : Boolean(inputs.value);
    if (!ok) throw new Error(`${params.message} (got ${JSON.stringify(inputs.value)})`);
    return { value: inputs.value };
  },
});
