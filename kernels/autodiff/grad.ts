import * as o from '../trace/ops.ts';
import type { OpRecord, Sym } from '../trace/Sym.ts';
import { TraceError } from '../trace/TraceError.ts';
import { isDifferentiable } from '../trace/opKinds.ts';
import { VJPS, type VjpContext, type VjpRule } from './vjps.ts';

/**
 * Reverse-mode gradients of a scalar `loss` with respect to `wrt`, appended to the same graph
 * as standard ONNX ops. Only ops on a path from `wrt` to `loss` are differentiated (unused
 * branches cost nothing); tensors that do not influence the loss get a zero gradient.
 *
 * @example
 * const loss = x.matmul(W).sub(y).square().mean();
 * const [dW] = grad(loss, [W]);
 */
export function grad(loss: Sym, wrt: readonly Sym[]): Sym[] {
  const g = loss.graph;
  if (loss.size !== 1) throw new TraceError('grad', `loss must be a scalar, got ${loss}`);
  if (!['float32', 'float64'].includes(loss.dtype)) throw new TraceError('grad', `loss must be float, got ${loss}`);
  for (const w of wrt) {
    if (w.graph !== g) throw new TraceError('grad', `${w} belongs to another graph`);
    if (!['float32', 'float64'].includes(w.dtype)) throw new TraceError('grad', `cannot differentiate with respect to non-float ${w}`);
  }
  const tape = g.tape.slice();

  // Forward reachability from wrt: which tensors can carry a gradient at all.
  const live = new Set<Sym>(wrt);
  for (const rec of tape) {
    if (!isDifferentiable(rec.op)) continue;
    if (rec.inputs.some((x) => live.has(x))) for (const out of rec.outputs) live.add(out);
  }
  const consumers = new Map<Sym, OpRecord[]>();
  for (const rec of tape) for (const x of rec.inputs) consumers.set(x, [...(consumers.get(x) ?? []), rec]);

  const pending = new Map<Sym, Sym[]>();
  const total = new Map<Sym, Sym>();
  const gradOf = (s: Sym): Sym | null => {
    const done = total.get(s);
    if (done) return done;
    const parts = pending.get(s);
    if (!parts || parts.length === 0) return null;
    const sumAll = parts.reduce((a, b) => o.add(a, b));
    total.set(s, sumAll);
    pending.delete(s);
    return sumAll;
  };

  if (live.has(loss)) {
    pending.set(loss, [o.reshape(g.constant(1, loss.dtype), loss.shape)]);
    for (let i = tape.length - 1; i >= 0; i--) {
      const rec = tape[i]!;
      const op = rec.op;
      if (!isDifferentiable(op) || !rec.inputs.some((x) => live.has(x))) continue;
      const dys = rec.outputs.map(gradOf);
      if (dys.every((d) => d === null)) continue;
      // The table is complete by type (VjpTable); this guards records taped from untyped JS.
      const rule: VjpRule | undefined = Object.hasOwn(VJPS, op) ? VJPS[op] : undefined;
      if (!rule) throw new TraceError(op, `has no gradient rule${rec.location ? ` (op at ${rec.location})` : ''}`);
      const ctx: VjpContext = { needs: rec.inputs.map((x) => live.has(x)), gradOf, consumers: (s) => consumers.get(s) ?? [] };
      // Rules read only the first output's gradient, except split, which handles missing pieces itself.
      const filled = rec.op === 'split' || dys[0] ? dys : [o.zeros(g, rec.outputs[0]!.shape, rec.outputs[0]!.dtype), ...dys.slice(1)];
      const dxs = rule(rec, filled, ctx);
      rec.inputs.forEach((x, k) => {
        const dx = dxs[k];
        if (!dx || !ctx.needs[k]) return;
        if (dx.size !== x.size || dx.rank !== x.rank) throw new Error(`internal: gradient rule for ${rec.op} returned ${dx} for input ${x}`);
        if (total.has(x)) throw new Error(`internal: gradient of ${x} requested before all its uses were processed`);
        pending.set(x, [...(pending.get(x) ?? []), dx]);
      });
    }
  }
  return wrt.map((w) => gradOf(w) ?? o.zeros(g, w.shape, w.dtype));
}
