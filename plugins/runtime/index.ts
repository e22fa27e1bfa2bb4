/**
 * runtime: no nodes; binds the execution scope that carries a graph's, a run's or a node's
 * `provider` to the ONNX sessions the nodes open (plugins/runtime/providerScope.ts).
 *
 * @packageDocumentation
 */
import { EXECUTION_SCOPE, definePlugin } from 'tessera';
import { providerScope } from './providerScope.ts';

export default definePlugin({ name: 'runtime', version: '0.1.0', nodes: [], services: ({ bind }) => bind(EXECUTION_SCOPE).toConstantValue(providerScope) });
