// Worker-thread side of KernelWorker: owns onnxruntime sessions so their synchronous native
// run() blocks this thread, not the engine's event loop. Plain JS so it loads without tsx.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const sessions = new Map();
let nextId = 1;

async function handle(msg) {
  if (msg.type === 'create') {
    const session = await ort.InferenceSession.create(msg.bytes, msg.options);
    const sid = nextId++;
    sessions.set(sid, session);
    return { sid, inputNames: session.inputNames, outputNames: session.outputNames };
  }
  const session = sessions.get(msg.sid);
  if (!session) throw new Error(`kernel worker: no session ${msg.sid}`);
  if (msg.type === 'run') {
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
    const out = await session.run(feeds, msg.outputs);
    const result = {};
    const transfer = [];
    for (const [name, t] of Object.entries(out)) {
      // Copy out of ORT-owned memory so the buffer can be transferred without copying again.
      const data = t.data.slice();
      result[name] = { dtype: t.type, shape: [...t.dims], data };
      transfer.push(data.buffer);
    }
    return { result, transfer };
  }
  if (msg.type === 'release') {
    sessions.delete(msg.sid);
    await session.release();
    return {};
  }
  throw new Error(`kernel worker: unknown message ${msg.type}`);
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    (reply) => parentPort.postMessage({ id: msg.id, ok: true, ...reply, transfer: undefined }, reply.transfer ?? []),
    (error) => parentPort.postMessage({ id: msg.id, ok: false, error: String(error?.message ?? error) }),
  );
});
