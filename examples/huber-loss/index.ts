import { definePlugin } from 'tessera';
import { HUBER_KERNELS, HuberKernels } from './huber.ts';
import { HuberLossNode, TensorNode } from './nodes.ts';

export { HUBER_KERNELS, HuberKernels, huberLoss } from './huber.ts';

/**
 * An example third-party plugin that uses 'tessera/kernels' (a traced loss, autodiff, compiled
 * sessions) and a service (the compiled sessions live in one HuberKernels the nodes resolve).
 */
export default definePlugin({
  name: 'tessera-plugin-huber',
  version: '0.1.0',
  nodes: [TensorNode, HuberLossNode],
  services: ({ bind }) => bind(HUBER_KERNELS).toConstantValue(new HuberKernels()),
});
