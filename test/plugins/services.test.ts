// Issue 16 item 7: a service one plugin provides (metrics' REWARD) and a node of another plugin
// resolves by token with ctx.get, through the public module 'tessera/metrics'.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, createLogger, defineNode, definePlugin, type TesseraPlugin } from 'tessera';
import { REWARD, type RewardScore } from 'tessera/metrics';
import semalign from 'tessera/semalign';
import metrics from 'tessera/metrics';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';

/** A node of another plugin: scores each sample's ground truth and a gray image with the reward service. */
const ScoreNode = defineNode({
  type: 'reward-user/Score',
  title: 'Score',
  category: 'reward-user',
  description: 'Rewards of the ground truth and of a flat gray image, per sample.',
  version: '1.0.0',
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: { scores: { type: 'JSON' } },
  execute: (ctx) => {
    const reward = ctx.get(REWARD);
    const scores = ctx.inputs.samples.map((s) => {
      const gray = { width: s.target.width, height: s.target.height, channels: 3 as const, data: new Uint8Array(s.target.width * s.target.height * 3).fill(128) };
      return { truth: reward.score(s, s.target), gray: reward.score(s, gray) };
    });
    return { scores };
  },
});
const user = definePlugin({ name: 'reward-user', version: '1.0.0', nodes: [ScoreNode] });

const graph = {
  format: 'tessera-graph',
  version: 1,
  nodes: {
    data: { type: 'semalign/Generate', params: { train: 0, val: 2, test: 0, kMin: 2, kMax: 2, write: false, dip: 'none' } },
    score: { type: 'reward-user/Score', inputs: { samples: { node: 'data', output: 'samples' } } },
  },
};

async function run(plugins: TesseraPlugin[]) {
  const engine = await createEngine({ plugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  return collectRun(engine.run(graph, { outDir: tempDir('reward'), targets: ['score'] }));
}

test('metrics provides REWARD; a node of another plugin resolves it with ctx.get and scores identity minus leakage', async () => {
  const r = await run([semalign, metrics, user]);
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.events.find((e) => e.type === 'node:output' && e.nodeId === 'score') as unknown as { outputs: { scores: { truth: RewardScore; gray: RewardScore }[] } };
  const scores = out.outputs.scores;
  assert.is(scores.length, 2);
  for (const { truth, gray } of scores) {
    assert.is(truth.subjects.length, 2, 'one reward per subject (K = 2)');
    assert.ok(Math.abs(truth.reward - 1) < 1e-9, `the ground truth scores identity 1, leakage 0: ${truth.reward}`);
    for (const s of truth.subjects) assert.ok(Math.abs(s.reward - (s.identity - s.leakage)) < 1e-12);
    assert.ok(gray.reward < truth.reward - 0.1, `a flat gray image scores lower: ${gray.reward}`);
  }
});

test('without the metrics plugin, ctx.get(REWARD) fails that node, naming the token', async () => {
  const r = await run([semalign, user]);
  assert.is(r.status, 'failed');
  assert.match(r.errors.map((e) => e.message).join('\n'), /tessera\.metrics\.Reward/);
});

test.run();
