import assert from "@std/assert";
import { readPoolStats } from "./stats.ts";
import { POOL_STATS_BYTES } from "./ffi.ts";

/** Builds a pool_stats_t image by hand: the layout of native/pool.h, little-endian. */
function statsImage(classCount: number, abiVersion = 1): Uint8Array {
  const raw = new Uint8Array(POOL_STATS_BYTES);
  const view = new DataView(raw.buffer);
  view.setUint32(0, abiVersion, true);
  view.setUint32(4, classCount, true);
  for (let field = 0; field < 8; field++) {
    view.setBigUint64(8 + field * 8, BigInt(100 + field), true);
  }
  for (let c = 0; c < Math.min(classCount, 16); c++) {
    for (let field = 0; field < 9; field++) {
      view.setBigUint64(72 + c * 72 + field * 8, BigInt(1000 * (c + 1) + field), true);
    }
  }
  return raw;
}

Deno.test("readPoolStats decodes every field at its pool.h offset", () => {
  const stats = readPoolStats(statsImage(2));
  assert.equal(stats.abiVersion, 1);
  assert.deepEqual(
    [stats.regionBytes, stats.dataBytes, stats.blocksInUse, stats.allocTooLargeTotal],
    [100, 101, 102, 103],
  );
  assert.deepEqual(stats.invalidFrees, { foreign: 104, misaligned: 105, double: 106 });
  assert.equal(stats.useAfterFreeDetectedTotal, 107);
  assert.equal(stats.classes.length, 2);
  assert.deepEqual(stats.classes[1], {
    blockSizeBytes: 2000,
    blocksTotal: 2001,
    blocksInUse: 2002,
    blocksInUseHighWatermark: 2003,
    allocTotal: 2004,
    allocFailuresTotal: 2005,
    bytesRequestedTotal: 2006,
    bytesRequestedInUse: 2007,
    baseOffsetBytes: 2008,
  });
  assert.ok(Object.isFrozen(stats) && Object.isFrozen(stats.classes[0]));
});

Deno.test("readPoolStats refuses wrong sizes, versions, class counts and huge counters", () => {
  assert.throws(() => readPoolStats(new Uint8Array(10)), /length 10 differs from 1224/);
  assert.throws(() => readPoolStats([] as unknown as Uint8Array), TypeError);
  assert.throws(() => readPoolStats(statsImage(1, 2)), /ABI version 2 differs from 1/);
  assert.throws(() => readPoolStats(statsImage(0)), /class count 0 is not in 1..16/);
  assert.throws(() => readPoolStats(statsImage(17)), /class count 17 is not in 1..16/);
  const huge = statsImage(1);
  new DataView(huge.buffer).setBigUint64(8, 2n ** 60n, true);
  assert.throws(() => readPoolStats(huge), /exceeds 2\^53/);
});
