import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { intersects, roomToGrow, type Box } from '../../ui/src/layout.ts';

// The rule that keeps previews from growing nodes over their neighbours (browser-free).

test('a node with free space around it grows as wanted', () => {
  assert.equal(roomToGrow([0, 0, 200, 100], [[1000, 0, 1200, 100]], { width: 220, height: 400 }), { width: 220, height: 400 });
});

test('a neighbour below stops the growth above it; one to the right stops the width', () => {
  const node: Box = [0, 0, 200, 100];
  assert.equal(roomToGrow(node, [[0, 250, 200, 300]], { width: 220, height: 400 }), { width: 220, height: 238 });
  assert.equal(roomToGrow(node, [[210, 0, 400, 100]], { width: 260, height: 100 }), { width: 200, height: 100 }, 'never smaller than it is');
  assert.equal(roomToGrow(node, [[300, 0, 400, 50]], { width: 400, height: 100 }), { width: 288, height: 100 });
});

test('a neighbour beside the new, taller part limits the width too; the result overlaps nothing', () => {
  const node: Box = [0, 0, 200, 100];
  const others: Box[] = [[230, 200, 400, 300], [0, 600, 200, 700]];
  const room = roomToGrow(node, others, { width: 260, height: 500 });
  assert.equal(room, { width: 218, height: 500 });
  const grown: Box = [0, 0, room.width, room.height];
  for (const o of others) assert.not.ok(intersects(grown, o));
});

test('a node that already overlaps another still grows around the rest', () => {
  assert.equal(roomToGrow([0, 0, 200, 100], [[50, 50, 150, 150], [0, 300, 200, 400]], { width: 200, height: 500 }), { width: 200, height: 288 });
});

test.run();
