/** The MOSAIC ablation's arms (bench/mosaic/ablation.ts): labels and how each rewires the training graph. */

export type ArmName = 'none' | 'scal' | 'mdl' | 'full' | 'mdl-paper' | 'mdl-code';
export const ARMS: Record<ArmName, string> = {
  none: 'no alignment loss',
  scal: 'SCAL',
  mdl: 'MDL',
  full: 'SCAL + MDL',
  // MDL alone with the two published settings instead of the v1 choice (JSD, β 0.6 from step 0):
  'mdl-paper': 'MDL (paper: symmetric KL, β 0.6)',
  'mdl-code': 'MDL (code: JSD, β 1 after 10 % of the run, all tokens)',
};
export type Graph = { nodes: Record<string, { type?: string; inputs?: Record<string, { node: string; output: string }>; params?: Record<string, unknown> }>; ui?: { nodes?: Record<string, unknown> } };

/** Rewires the training graph for one arm: which loss nodes feed train/Train. */
export function armGraph(base: Graph, arm: ArmName): Graph {
  const g = JSON.parse(JSON.stringify(base)) as Graph;
  const drop = (id: string) => {
    delete g.nodes[id];
    delete g.ui?.nodes?.[id];
  };
  const feed = (id: string, from: string) => (g.nodes[id]!.inputs!.model = { node: from, output: 'model' });
  if (!g.nodes.attention) {
    // A base graph without alignment losses (graphs/mosaic-v2-train.json): insert the paper's
    // chain attention → SCAL → MDL (the same nodes and settings as graphs/mosaic-train.json)
    // between whatever fed Train and Train.
    const from = g.nodes.train!.inputs!.model!.node;
    g.nodes.attention = { type: 'mosaic/CorrespondenceAttention', params: { blocks: [] }, inputs: { model: { node: from, output: 'model' } } } as Graph['nodes'][string];
    g.nodes.scal = { type: 'mosaic/SCALoss', params: { preset: 'paper' }, inputs: { model: { node: 'attention', output: 'model' } } } as Graph['nodes'][string];
    g.nodes.mdl = { type: 'mosaic/MDLoss', params: { preset: 'custom', beta: 0.6, warmupStart: 0, rampSteps: 0, mode: 'points', distance: 'jsd' }, inputs: { model: { node: 'scal', output: 'model' } } } as Graph['nodes'][string];
    feed('train', 'mdl');
  }
  if (arm === 'none') {
    drop('scal');
    drop('mdl');
    feed('train', 'attention');
  } else if (arm === 'scal') {
    drop('mdl');
    feed('train', 'scal');
  } else if (arm === 'mdl' || arm === 'mdl-paper' || arm === 'mdl-code') {
    drop('scal');
    feed('mdl', 'attention');
    if (arm !== 'mdl') g.nodes.mdl!.params = { preset: arm === 'mdl-paper' ? 'paper' : 'code' };
  }
  return g;
}
