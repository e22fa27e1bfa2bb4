// Per-item file names of model/Sample and mosaic/Sample (itemFileNames, public through
// 'tessera/model'): every id gets its own name, deterministically, and none takes a reserved one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { itemFileNames } from 'tessera/model';

test('ids that sanitize alike, differ only in case, or name the sheet: the first keeps the plain name, later ones get _<index>', () => {
  assert.equal(itemFileNames(['a b', 'a_b', 'sheet', 'A_B', 'val-0000001', 'x/y'], '.png', ['sheet']), ['a_b.png', 'a_b_1.png', 'sheet_2.png', 'A_B_3.png', 'val-0000001.png', 'x_y.png']);
});

test('a suffixed name that another id already spells moves on (_<index>_<n>); the same ids always give the same names', () => {
  const ids = ['a', 'a', 'a_1', 'a_2', ''];
  const names = itemFileNames(ids, '.png');
  assert.equal(names, ['a.png', 'a_1.png', 'a_1_2.png', 'a_2.png', '_.png']);
  assert.is(new Set(names).size, ids.length);
  assert.equal(itemFileNames(ids, '.png'), names);
});

test('a non-string id is a TypeError naming the item', () => {
  assert.throws(() => itemFileNames(['a', 3 as unknown as string], '.png'), /item 1's id must be a string/);
});

test.run();
