import { definePlugin } from 'tessera';
import { BooleanNode, JsonNode, NumberNode, RandomNode, SeedNode, StringNode } from './nodes/constants.ts';
import { AddNode, MathNode, SumNode } from './nodes/math.ts';
import { FormatNode, JsonGetNode, MakeObjectNode } from './nodes/text.ts';
import { ListIndexNode, ListMapNode, ListStatsNode, RangeNode } from './nodes/lists.ts';
import { AssertNode, CollectNode, CountStreamNode, DelayNode } from './nodes/flow.ts';
import { PrintNode, SaveImageNode, SaveJsonNode } from './nodes/sinks.ts';
import { LoadImageNode } from './nodes/images.ts';

/** The built-in `core` plugin: nodes that make the engine usable and testable without ML. */
export default definePlugin({
  name: 'core',
  version: '1.0.0',
  nodes: [
    NumberNode, StringNode, BooleanNode, JsonNode, SeedNode, RandomNode,
    AddNode, MathNode, SumNode,
    FormatNode, JsonGetNode, MakeObjectNode,
    RangeNode, ListMapNode, ListStatsNode, ListIndexNode,
    DelayNode, CountStreamNode, CollectNode, AssertNode,
    LoadImageNode,
    PrintNode, SaveJsonNode, SaveImageNode,
  ],
});
