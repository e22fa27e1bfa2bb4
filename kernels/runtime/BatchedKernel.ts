import { Graph, type FloatDType } from '../trace/Graph.ts';
import type { Sym } from '../trace/Sym.ts';
import { compile, type CompileOptions, type Kernel } from './Kernel.ts';
import { Tensor, type TensorLike } from './Tensor.ts';

/**
 * A kernel whose batch size may vary between calls. Graphs stay static (every shape check and
 * VJP keeps working): the program is re-traced once per batch size and the compiled kernels are
 * cached, so after the first call of each size a run costs the same as a fixed-size kernel.
 *
 * @example
 * const k = compileBatched((g, batch) => ({ y: g.input('x', [batch, 3]).softmax() }));
 * await k.run({ x: Tensor.from([[1, 2, 3]]) });            // traces for batch 1
 * await k.run({ x: Tensor.from([[1, 2, 3], [0, 0, 0]]) });  // traces for batch 2
 */
export class BatchedKernel {
  private readonly kernels = new Map<number, Promise<Kernel>>();

  constructor(
    private readonly build: (g: Graph, batch: number) => Record<string, Sym>,
    private readonly options: CompileOptions & { dtype?: FloatDType; batchOf?: (feeds: Record<string, TensorLike>) => number } = {},
  ) {}

  /** Batch sizes compiled so far. */
  get sizes(): number[] {
    return [...this.kernels.keys()];
  }

  private kernelFor(batch: number): Promise<Kernel> {
    let k = this.kernels.get(batch);
    if (!k) {
      const g = new Graph({ dtype: this.options.dtype });
      k = compile(g, this.build(g, batch), this.options);
      this.kernels.set(batch, k);
      k.catch(() => this.kernels.delete(batch));
    }
    return k;
  }

  async run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const batch = this.options.batchOf ? this.options.batchOf(feeds) : firstDim(feeds);
    return (await this.kernelFor(batch)).run(feeds, outputs);
  }
}

function firstDim(feeds: Record<string, TensorLike>): number {
  const first = Object.values(feeds)[0];
  if (!first) throw new Error('compileBatched: no feeds to take the batch size from');
  const shape = first instanceof Tensor ? first.shape : first.dims;
  if (shape.length === 0) throw new Error('compileBatched: the first feed is a scalar; pass batchOf to say where the batch size is');
  return shape[0]!;
}

/** Creates a `BatchedKernel` (see there). */
export function compileBatched(
  build: (g: Graph, batch: number) => Record<string, Sym>,
  options: CompileOptions & { dtype?: FloatDType; batchOf?: (feeds: Record<string, TensorLike>) => number } = {},
): BatchedKernel {
  return new BatchedKernel(build, options);
}
