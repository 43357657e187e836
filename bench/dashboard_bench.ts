/**
 * The cost of one dashboard poll's snapshot (`collectDashboardStats` + `JSON.stringify`) against
 * the `/metrics` text of the same pool and counters (the baseline, measured in the same run).
 * The page polls once a second per open tab, so the target is only "same order as a scrape".
 * Run: `deno bench -A bench/dashboard_bench.ts`.
 *
 * @module
 */
import { collectDashboardStats } from "../dashboard/mod.ts";
import { Pool } from "../pool/mod.ts";
import { METHODS } from "../rpc/methods.ts";
import { RpcMetrics } from "../rpc/metrics.ts";

const pool = Pool.open([
  { blockSizeBytes: 4096, blockCount: 64 },
  { blockSizeBytes: 65536, blockCount: 16 },
  { blockSizeBytes: 262144, blockCount: 8 },
  { blockSizeBytes: 1048576, blockCount: 4 },
]);
const methodNames = METHODS.map((m) => m.name);
const metrics = new RpcMetrics(methodNames);
methodNames.forEach((_, id) => {
  for (let i = 0; i < 100; i++) metrics.recordRequest(id, i % 10 === 0 ? "not_found" : "ok", 1e-3);
});
metrics.recordRejected("unknown_method");
const held = [pool.tryAcquire(100)!, pool.tryAcquire(70_000)!];
globalThis.addEventListener("unload", () => {
  held.forEach((lease) => lease.release());
  pool.close();
});

Deno.bench({
  name: "/metrics text of the same state",
  group: "poll",
  baseline: true,
  fn: () => {
    metrics.render(pool);
  },
});

Deno.bench({
  name: "/api/stats snapshot + JSON.stringify",
  group: "poll",
  fn: () => {
    JSON.stringify(collectDashboardStats({ pool, metrics, methodNames }));
  },
});
