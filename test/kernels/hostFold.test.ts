// Host folding of exported shape arithmetic: ONNX semantics for the integer ops PyTorch emits
// around Shape nodes (truncating Div, clamped and negative-step Slice, Range, Squeeze, Cast).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foldOnHost, type HostValue } from '../../kernels/trace/hostFold.ts';
import type { OnnxNode } from '../../kernels/index.ts';

const ints = (data: number[], dims = [data.length]): HostValue => ({ dtype: 'int64', dims, data });

function fold(opType: string, inputs: Record<string, HostValue>, attributes: OnnxNode['attributes'] = [], shapes: Record<string, number[]> = {}): HostValue[] | undefined {
  const values = new Map(Object.entries(inputs));
  const n: OnnxNode = { opType, name: opType, inputs: Object.keys(inputs).length ? Object.keys(inputs) : Object.keys(shapes), outputs: ['out'], attributes };
  return foldOnHost(n, { value: (k) => values.get(k), shape: (k) => new Map(Object.entries(shapes)).get(k) ?? values.get(k)?.dims });
}

test('Shape with start/end, Size', () => {
  assert.equal(fold('Shape', {}, [], { x: [2, 3, 4] })![0]!.data, [2, 3, 4]);
  assert.equal(fold('Shape', {}, [{ name: 'start', type: 'int', value: -2 }], { x: [2, 3, 4] })![0]!.data, [3, 4]);
  assert.equal(fold('Size', {}, [], { x: [2, 3, 4] })![0]!.data, [24]);
});

test('integer Div truncates toward zero; Mod floors; broadcasting of a scalar', () => {
  assert.equal(fold('Div', { a: ints([7, -7]), b: ints([2], []) })![0]!.data, [3, -3]);
  assert.equal(fold('Mod', { a: ints([7, -7]), b: ints([3], []) })![0]!.data, [1, 2]);
  assert.equal(fold('Mul', { a: ints([2, 3]), b: ints([4], []) })![0]!.dims, [2]);
});

test('Slice clamps ends (INT64_MAX) and walks negative steps; Range, Squeeze, Cast', () => {
  const x = ints([10, 11, 12, 13]);
  assert.equal(fold('Slice', { x, s: ints([1]), e: ints([9.2e18]) })![0]!.data, [11, 12, 13]);
  assert.equal(fold('Slice', { x, s: ints([-1]), e: ints([-9.2e18]), a: ints([0]), st: ints([-2]) })![0]!.data, [13, 11]);
  assert.equal(fold('Range', { a: ints([1], []), b: ints([8], []), c: ints([3], []) })![0]!.data, [1, 4, 7]);
  assert.equal(fold('Squeeze', { x: ints([5], [1, 1]) })![0]!.dims, []);
  const c = fold('Cast', { x: ints([3]) }, [{ name: 'to', type: 'int', value: 1 }])![0]!;
  assert.is(c.dtype, 'float32');
});

test('a node with any run-time input is not folded', () => {
  const n: OnnxNode = { opType: 'Add', name: 'a', inputs: ['x', 'y'], outputs: ['z'], attributes: [] };
  assert.is(foldOnHost(n, { value: (k) => (k === 'x' ? ints([1]) : undefined), shape: () => [1] }), undefined);
});

test.run();
