/**
 * Einsum for one or two operands without ellipses or repeated letters in one operand (the
 * patterns exporters emit: 'bhid,bhjd->bhij', 'nchw,nc->nhw', 'ij->ji', …), lowered to
 * sum/transpose/reshape/matmul so existing VJP rules give the gradient.
 */
import type { Sym } from './Sym.ts';
import * as o from './ops.ts';
import { TraceError } from './TraceError.ts';

function parse(equation: string, n: number): { ins: string[]; out: string } {
  const eq = equation.replace(/\s+/g, '');
  if (eq.includes('.')) throw new TraceError('einsum', `ellipses are not supported ('${equation}')`);
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const ins = lhs.split(',');
  if (ins.length !== n) throw new TraceError('einsum', `'${equation}' names ${ins.length} operands, got ${n}`);
  for (const s of [...ins, rhs ?? '']) {
    if (!/^[a-zA-Z]*$/.test(s) || new Set(s).size !== s.length) throw new TraceError('einsum', `'${equation}': only distinct letters per operand are supported`);
  }
  // Implicit output: letters that occur once, in alphabetical order.
  const all = ins.join('');
  const out = rhs ?? [...new Set(all)].filter((c) => all.indexOf(c) === all.lastIndexOf(c)).sort().join('');
  return { ins, out };
}

/** Sums away the letters of `s` no one else needs, returning the tensor and its remaining letters. */
function sumUnused(x: Sym, s: string, keep: string): [Sym, string] {
  const drop = [...s].flatMap((c, i) => (keep.includes(c) ? [] : [i]));
  return drop.length ? [o.sum(x, drop), [...s].filter((c) => keep.includes(c)).join('')] : [x, s];
}

const dimsOf = (x: Sym, s: string, letters: string[]) => letters.map((c) => x.shape[s.indexOf(c)]!);
const prod = (ds: number[]) => ds.reduce((p, q) => p * q, 1);

/** `einsum('bij,bjk->bik', a, b)`: one or two operands. */
export function einsum(equation: string, ...xs: Sym[]): Sym {
  if (xs.length < 1 || xs.length > 2) throw new TraceError('einsum', `supports 1 or 2 operands, got ${xs.length}`);
  const { ins, out } = parse(equation, xs.length);
  xs.forEach((x, i) => {
    if (x.rank !== ins[i]!.length) throw new TraceError('einsum', `operand ${i} ${x} does not match '${ins[i]}'`);
  });
  if (xs.length === 1) {
    const [y, s] = sumUnused(xs[0]!, ins[0]!, out);
    return o.transpose(y, [...out].map((c) => s.indexOf(c)));
  }
  const [a, sa] = sumUnused(xs[0]!, ins[0]!, out + ins[1]!);
  const [b, sb] = sumUnused(xs[1]!, ins[1]!, out + ins[0]!);
  for (const c of sa) {
    if (sb.includes(c) && a.shape[sa.indexOf(c)] !== b.shape[sb.indexOf(c)]) throw new TraceError('einsum', `'${equation}': size of '${c}' differs (${a} vs ${b})`);
  }
  const batch = [...out].filter((c) => sa.includes(c) && sb.includes(c));
  const contract = [...sa].filter((c) => sb.includes(c) && !out.includes(c));
  const aFree = [...sa].filter((c) => !sb.includes(c));
  const bFree = [...sb].filter((c) => !sa.includes(c));
  if ([...out].some((c) => !sa.includes(c) && !sb.includes(c))) throw new TraceError('einsum', `'${equation}': output letter not in any operand`);
  const am = o.reshape(o.transpose(a, [...batch, ...aFree, ...contract].map((c) => sa.indexOf(c))), [
    prod(dimsOf(a, sa, batch)),
    prod(dimsOf(a, sa, aFree)),
    prod(dimsOf(a, sa, contract)),
  ]);
  const bm = o.reshape(o.transpose(b, [...batch, ...contract, ...bFree].map((c) => sb.indexOf(c))), [
    prod(dimsOf(b, sb, batch)),
    prod(dimsOf(b, sb, contract)),
    prod(dimsOf(b, sb, bFree)),
  ]);
  const order = [...batch, ...aFree, ...bFree];
  const y = o.reshape(o.matmul(am, bm), [...dimsOf(a, sa, batch), ...dimsOf(a, sa, aFree), ...dimsOf(b, sb, bFree)]);
  return o.transpose(y, [...out].map((c) => order.indexOf(c)));
}
