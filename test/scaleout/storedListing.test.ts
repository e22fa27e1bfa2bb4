import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReusedListing } from '../../core/storage/storedListing.ts';

// ReusedListing (the store's run and sweep listings, reused for a few seconds): a failed listing
// is dropped, but one that fails after a newer listing replaced it leaves the newer one in place.
// The clock is set by the test (Date.now), so nothing depends on this machine's speed.

test('an old listing failing late does not drop the newer one', async () => {
  const realNow = Date.now;
  let now = 1_000_000;
  Date.now = () => now;
  try {
    let loads = 0;
    let failFirst!: (error: Error) => void;
    const listing = new ReusedListing<string>(5000, () => {
      loads++;
      return loads === 1 ? new Promise<string[]>((_, reject) => (failFirst = reject)) : Promise.resolve([`listing ${loads}`]);
    });
    const first = listing.get();
    now += 6000; // the first listing has expired, still under way
    assert.equal(await listing.get(), ['listing 2']);
    failFirst(new Error('the store did not answer'));
    await first.catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(await listing.get(), ['listing 2']);
    assert.is(loads, 2);
    // A listing that fails while it is the current one is dropped: the next call lists again.
    now += 6000;
    const failing = new ReusedListing<string>(5000, () => (++loads === 3 ? Promise.reject(new Error('down')) : Promise.resolve(['back'])));
    await failing.get().catch(() => undefined);
    assert.equal(await failing.get(), ['back']);
  } finally {
    Date.now = realNow;
  }
});

test.run();
