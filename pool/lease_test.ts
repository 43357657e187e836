import assert from "@std/assert";
import { Pool } from "./pool.ts";
import { LeaseReleasedError } from "./lease.ts";

Deno.test("a second release throws and never frees natively twice", () => {
  const pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 1 }]);
  try {
    const first = pool.tryAcquire(10)!;
    first.release();
    // The same block now belongs to a new lease; the stale lease must not free it.
    const second = pool.tryAcquire(10)!;
    assert.equal(second.handle, first.handle);
    assert.throws(() => first.release(), LeaseReleasedError);
    assert.throws(() => first.release(), /already released/);
    assert.equal(second.released, false);
    assert.equal(pool.inUseCount(), 1);
    assert.equal(pool.stats().blocksInUse, 1);
    assert.equal(pool.stats().invalidFrees.double, 0);
    second.bytes[0] = 9;
    second.release();
    assert.equal(pool.stats().blocksInUse, 0);
  } finally {
    pool.close();
  }
});

Deno.test("bytes are unreachable through a released lease", () => {
  const pool = Pool.open([{ blockSizeBytes: 128, blockCount: 2 }]);
  try {
    const lease = pool.tryAcquire(100)!;
    assert.equal(lease.bytes.length, 128);
    assert.equal(lease.capacityBytes, 128);
    assert.equal(lease.released, false);
    lease.release();
    assert.equal(lease.released, true);
    assert.throws(() => lease.bytes, LeaseReleasedError);
    assert.throws(() => lease.bytes, /Cannot read bytes: lease 0 was already released/);
    assert.equal(lease.capacityBytes, 128, "metadata stays readable");
  } finally {
    pool.close();
  }
});

Deno.test("many acquire/release cycles leave nothing in use", () => {
  const pool = Pool.open([
    { blockSizeBytes: 64, blockCount: 8 },
    { blockSizeBytes: 1024, blockCount: 8 },
  ]);
  try {
    const live = [];
    for (let i = 0; i < 10_000; i++) {
      const lease = pool.tryAcquire(1 + (i * 37) % 1024);
      if (lease !== null) live.push(lease);
      if (live.length > 5 || lease === null) live.shift()?.release();
    }
    for (const lease of live) lease.release();
    assert.equal(pool.inUseCount(), 0);
    const stats = pool.stats();
    assert.equal(stats.blocksInUse, 0);
    assert.equal(
      stats.classes[0].allocTotal + stats.classes[1].allocTotal,
      10_000 - (
        stats.classes[0].allocFailuresTotal + stats.classes[1].allocFailuresTotal
      ),
    );
  } finally {
    pool.close();
  }
});
