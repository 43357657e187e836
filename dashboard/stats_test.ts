import assert from "@std/assert";
import { Pool } from "../pool/mod.ts";
import { REJECT_REASONS, RpcMetrics } from "../rpc/metrics.ts";
import { collectDashboardStats, DASHBOARD_METHOD_COUNT_MAX } from "./stats.ts";

const CLASSES = [
  { blockSizeBytes: 4096, blockCount: 4 },
  { blockSizeBytes: 65536, blockCount: 2 },
];

Deno.test("stats: a snapshot carries pool classes, method totals and every rejection reason", () => {
  const pool = Pool.open(CLASSES);
  try {
    const metrics = new RpcMetrics(["a.one", "b.two"]);
    metrics.recordRequest(0, "ok", 0.001);
    metrics.recordRequest(0, "ok", 0.001);
    metrics.recordRequest(0, "not_found", 0.001);
    metrics.recordRequest(1, "invalid_argument", 0.001);
    metrics.recordRejected("pool_exhausted");
    const first = pool.tryAcquire(100)!;
    const second = pool.tryAcquire(100)!;
    second.release();
    const stats = collectDashboardStats({ pool, metrics, methodNames: ["a.one", "b.two"] });
    first.release();
    assert.ok(Math.abs(stats.timeMs - Date.now()) < 60_000);
    assert.deepEqual(stats.pool.classes.map((c) => [c.blockSizeBytes, c.blocksTotal]), [
      [4096, 4],
      [65536, 2],
    ]);
    const small = stats.pool.classes[0];
    assert.equal(small.blocksInUse, 1);
    assert.equal(small.blocksInUseHighWatermark, 2);
    assert.equal(small.allocTotal, 2);
    assert.deepEqual(stats.methods, [
      { name: "a.one", okTotal: 2, errorTotal: 1, errorsByCode: { not_found: 1 } },
      { name: "b.two", okTotal: 0, errorTotal: 1, errorsByCode: { invalid_argument: 1 } },
    ]);
    assert.deepEqual(Object.keys(stats.rejectedByReason), [...REJECT_REASONS]);
    assert.equal(stats.rejectedByReason.pool_exhausted, 1);
    assert.equal(stats.rejectedByReason.unknown_method, 0);
    // The document is plain JSON: it survives a round trip unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(stats)), stats);
  } finally {
    pool.close();
  }
});

Deno.test("stats: a method list beyond the bound is refused with a RangeError", () => {
  const pool = Pool.open(CLASSES);
  try {
    const names = Array.from({ length: DASHBOARD_METHOD_COUNT_MAX + 1 }, (_, i) => `m.${i}`);
    const metrics = new RpcMetrics(names);
    assert.throws(
      () => collectDashboardStats({ pool, metrics, methodNames: names }),
      (error: unknown) =>
        error instanceof RangeError && /1025 methods exceed 1024/.test(error.message),
    );
  } finally {
    pool.close();
  }
});
