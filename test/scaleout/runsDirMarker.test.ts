import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNS_DIR_MARKER } from '../../core/queue/names.ts';
import { ensureRunsDirMarker, readRunsDirMarker } from '../../core/queue/runsDirMarker.ts';
import { tempWorkspace } from '../server/helpers.ts';

// The runs-folder marker: created once, exclusively, so first users at the same time agree.

test('concurrent first uses of an empty runs folder end with one shared id, the one on disk', async () => {
  for (let round = 0; round < 5; round++) {
    const dir = join(tempWorkspace('tessera-marker-'), 'runs'); // not created yet: first use makes it
    const ids = await Promise.all(Array.from({ length: 8 }, () => ensureRunsDirMarker(dir)));
    assert.is(new Set(ids).size, 1, ids.join(' '));
    assert.is(await readRunsDirMarker(dir), ids[0]);
    assert.is(readFileSync(join(dir, RUNS_DIR_MARKER), 'utf8'), ids[0] + '\n');
    assert.equal(readdirSync(dir), [RUNS_DIR_MARKER], 'temp files are removed');
    // Later uses keep it.
    assert.is(await ensureRunsDirMarker(dir), ids[0]);
  }
});

test('a foreign file under the marker name is refused with a clear error and left as it was', async () => {
  const dir = tempWorkspace('tessera-marker-');
  writeFileSync(join(dir, RUNS_DIR_MARKER), 'not an id\n');
  try {
    await ensureRunsDirMarker(dir);
    assert.unreachable('a foreign marker was accepted');
  } catch (error) {
    assert.match((error as Error).message, /exists but holds no runs-folder id/);
  }
  assert.is(readFileSync(join(dir, RUNS_DIR_MARKER), 'utf8'), 'not an id\n');
  assert.equal(readdirSync(dir), [RUNS_DIR_MARKER]);
});

test.run();
