import assert from "@std/assert";
import { Pool, type PoolClassConfig, regionBytesFor } from "./pool.ts";
import type { Lease } from "./lease.ts";

const CLASSES: PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 4 },
  { blockSizeBytes: 65536, blockCount: 2 },
];

/** Opens a pool for one test and closes it whatever happens (after releasing what is left). */
function withPool(classes: PoolClassConfig[], body: (pool: Pool, leases: Lease[]) => void): void {
  const pool = Pool.open(classes);
  const leases: Lease[] = [];
  try {
    body(pool, leases);
  } finally {
    for (const lease of leases) if (!lease.released) lease.release();
    pool.close();
  }
}

Deno.test("Pool.open exposes frozen classes, the largest size and the region size", () => {
  withPool(CLASSES, (pool) => {
    assert.equal(pool.blockSizeBytesMax, 65536);
    assert.equal(pool.regionBytes, regionBytesFor(CLASSES));
    assert.deepEqual(pool.classes, CLASSES);
    assert.ok(Object.isFrozen(pool.classes) && Object.isFrozen(pool.classes[0]));
    assert.equal(pool.inUseCount(), 0);
    assert.equal(pool.closed, false);
  });
});

Deno.test("tryAcquire picks the smallest fitting class", () => {
  withPool(CLASSES, (pool, leases) => {
    const small = pool.tryAcquire(1)!;
    const edge = pool.tryAcquire(4096)!;
    const big = pool.tryAcquire(4097)!;
    leases.push(small, edge, big);
    assert.deepEqual([small.capacityBytes, edge.capacityBytes, big.capacityBytes], [
      4096,
      4096,
      65536,
    ]);
    assert.deepEqual([small.handle, edge.handle, big.handle], [0, 1, 1 << 24]);
    assert.deepEqual([1, 4096, 4097, 65536, 65537].map((n) => pool.classIndexFor(n)), [
      0,
      0,
      1,
      1,
      -1,
    ]);
    assert.equal(pool.inUseCount(), 3);
  });
});

Deno.test("exhaustion returns null, does not spill into a bigger class, and recovers", () => {
  withPool(CLASSES, (pool, leases) => {
    for (let i = 0; i < 4; i++) leases.push(pool.tryAcquire(100)!);
    assert.equal(pool.tryAcquire(100), null);
    assert.equal(pool.tryAcquire(4096), null);
    const stats = pool.stats();
    assert.equal(stats.classes[0].allocFailuresTotal, 2);
    assert.equal(stats.classes[1].blocksInUse, 0);
    leases[2].release();
    const again = pool.tryAcquire(50)!;
    leases.push(again);
    assert.equal(again.handle, leases[2].handle);
    leases.push(pool.tryAcquire(65536)!, pool.tryAcquire(65536)!);
    assert.equal(pool.tryAcquire(65536), null);
    assert.equal(pool.inUseCount(), 6);
  });
});

Deno.test("a lease's view covers exactly its block and never its neighbour", () => {
  withPool(CLASSES, (pool, leases) => {
    for (let i = 0; i < 4; i++) leases.push(pool.tryAcquire(4096)!);
    leases.push(pool.tryAcquire(65536)!, pool.tryAcquire(65536)!);
    const stats = pool.stats();
    const buffer = leases[0].bytes.buffer;
    leases.forEach((lease, i) => {
      const c = lease.handle >>> 24;
      const index = lease.handle & 0xffffff;
      const size = stats.classes[c].blockSizeBytes;
      assert.equal(lease.bytes.buffer, buffer, "one region buffer for every view");
      assert.equal(lease.bytes.byteOffset, stats.classes[c].baseOffsetBytes + index * size);
      assert.equal(lease.bytes.length, size);
      lease.bytes.fill(i + 1);
    });
    leases.forEach((lease, i) => {
      assert.ok(lease.bytes.every((b) => b === i + 1), `block ${i} kept its own bytes`);
    });
    assert.equal(buffer.byteLength, stats.dataBytes);
    assert.ok(stats.dataBytes < stats.regionBytes, "the metadata is outside the view");
  });
});

Deno.test("stats follow acquire/release and in-use returns to 0", () => {
  withPool(CLASSES, (pool) => {
    const a = pool.tryAcquire(1000)!;
    const b = pool.tryAcquire(3000)!;
    const c = pool.tryAcquire(40000)!;
    let stats = pool.stats();
    assert.equal(stats.abiVersion, 1);
    assert.equal(stats.regionBytes, pool.regionBytes);
    assert.equal(stats.blocksInUse, 3);
    assert.deepEqual(stats.classes[0], {
      blockSizeBytes: 4096,
      blocksTotal: 4,
      blocksInUse: 2,
      blocksInUseHighWatermark: 2,
      allocTotal: 2,
      allocFailuresTotal: 0,
      bytesRequestedTotal: 4000,
      bytesRequestedInUse: 4000,
      baseOffsetBytes: 0,
    });
    assert.equal(stats.classes[1].baseOffsetBytes, 4 * 4096);
    a.release();
    b.release();
    c.release();
    stats = pool.stats();
    assert.equal(stats.blocksInUse, 0);
    assert.equal(pool.inUseCount(), 0);
    assert.equal(stats.classes[0].bytesRequestedInUse, 0);
    assert.equal(stats.classes[0].blocksInUseHighWatermark, 2);
    assert.deepEqual(stats.invalidFrees, { foreign: 0, misaligned: 0, double: 0 });
    assert.throws(() => pool.tryAcquire(65537), RangeError);
    assert.equal(pool.stats().allocTooLargeTotal, 0, "too large is refused before the FFI call");
  });
});

Deno.test("tryAcquire and classIndexFor refuse bad sizes with RangeError", () => {
  withPool(CLASSES, (pool) => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 65537, "5" as unknown as number]) {
      assert.throws(() => pool.tryAcquire(bad), RangeError, String(bad));
    }
    assert.throws(() => pool.tryAcquire(65537), /exceeds the largest block 65536/);
    assert.throws(() => pool.tryAcquire(0), /below 1/);
    assert.throws(() => pool.classIndexFor(0.5), /not an integer/);
    assert.equal(pool.inUseCount(), 0);
  });
});

Deno.test("Pool.open validates classes and options before crossing into C", () => {
  const cases: [unknown, ErrorConstructor][] = [
    [[], RangeError],
    ["4096", TypeError],
    [[null], TypeError],
    [[{ blockSizeBytes: 100, blockCount: 1 }], RangeError],
    [[{ blockSizeBytes: 32, blockCount: 1 }], RangeError],
    [[{ blockSizeBytes: 4096, blockCount: 0 }], RangeError],
    [[{ blockSizeBytes: 4096, blockCount: 2 ** 24 }], RangeError],
    [[{ blockSizeBytes: 4096, blockCount: 1.5 }], TypeError],
    [[{ blockSizeBytes: 2 ** 32, blockCount: 1 }], RangeError],
    [
      [{ blockSizeBytes: 4096, blockCount: 1 }, { blockSizeBytes: 4096, blockCount: 1 }],
      RangeError,
    ],
    [
      Array.from({ length: 17 }, (_, i) => ({ blockSizeBytes: 64 * (i + 1), blockCount: 1 })),
      RangeError,
    ],
  ];
  for (const [classes, errorType] of cases) {
    assert.throws(
      () => Pool.open(classes as PoolClassConfig[]),
      errorType,
      JSON.stringify(classes),
    );
  }
  assert.throws(() => Pool.open(CLASSES, { prefault: "yes" as unknown as boolean }), TypeError);
  assert.throws(() => Pool.open(CLASSES, null as unknown as undefined), TypeError);
  assert.throws(
    () => Pool.open(CLASSES, { libraryPath: "/nonexistent/libpool.so" }),
    /deno task native:build/,
  );
});

Deno.test("close refuses while leases are live, is idempotent, and detaches the views", () => {
  const pool = Pool.open(CLASSES, { prefault: true });
  const lease = pool.tryAcquire(10)!;
  const kept = lease.bytes;
  assert.throws(() => pool.close(), /1 leases are still live/);
  assert.equal(pool.closed, false);
  lease.release();
  pool.close();
  pool.close();
  assert.equal(pool.closed, true);
  assert.equal(kept.length, 0, "a view kept past release no longer reaches unmapped memory");
  assert.throws(() => pool.tryAcquire(10), /pool is closed/);
  assert.throws(() => pool.stats(), /pool is closed/);
});

Deno.test("two pools are independent", () => {
  withPool([{ blockSizeBytes: 64, blockCount: 1 }], (first, firstLeases) => {
    withPool([{ blockSizeBytes: 64, blockCount: 1 }], (second, secondLeases) => {
      firstLeases.push(first.tryAcquire(64)!);
      assert.equal(first.tryAcquire(64), null);
      secondLeases.push(second.tryAcquire(64)!);
      firstLeases[0].bytes.fill(1);
      secondLeases[0].bytes.fill(2);
      assert.equal(firstLeases[0].bytes[63], 1);
      assert.notEqual(firstLeases[0].bytes.buffer, secondLeases[0].bytes.buffer);
    });
  });
});

Deno.test("mlock either succeeds or fails with a clear message", () => {
  let pool: Pool | undefined;
  try {
    pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 4 }], { mlock: true });
  } catch (error) {
    assert.match(String(error), /mlock of \d+ bytes failed; raise RLIMIT_MEMLOCK/);
  }
  if (pool) {
    const lease = pool.tryAcquire(1)!;
    lease.release();
    pool.close();
  }
});
