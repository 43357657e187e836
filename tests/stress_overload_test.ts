/**
 * Overload: the real service in a child process (64 MiB pool, mapped and prefaulted, the start
 * task's V8 flags) receives concurrent 1 MiB Cap'n Proto `system.echo` uploads at 4x the block count of the
 * size class that holds them, over the plaintext HTTP/1.1 port, for `STRESS_SECONDS` (10 s in CI;
 * `deno task stress` runs 30 s). Only 200s and 503s with Retry-After may come back, `/healthz`
 * keeps answering, the child's peak RSS stays <= pool bytes + 96 MiB, and the pool's in-use count
 * returns to 0.
 */

import assert from "@std/assert";
import {
  classBlocksFor,
  echoCapnpBody,
  poolInUseFromMetrics,
  runOverload,
  startStressChild,
} from "./_stress.ts";
import { START_FLAGS } from "./_service_process.ts";

const POOL_BYTES = 64 * 1024 * 1024;
const UPLOAD_BYTES = 1024 * 1024;
const RSS_OVER_POOL_BYTES_MAX = 96 * 1024 * 1024;
const OVERLOAD_FACTOR = 4;
const MIB = 1024 * 1024;

/** The test's duration in seconds: STRESS_SECONDS, default 10. */
function stressSeconds(): number {
  const text = Deno.env.get("STRESS_SECONDS") ?? "10";
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new RangeError(`Invalid STRESS_SECONDS: ${text} is not in (0, 3600]`);
  }
  return seconds;
}

Deno.test("overload: 1 MiB uploads at 4x capacity get 200 or 503 + Retry-After, RSS bounded", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "stress-overload-" });
  const v8Flags = START_FLAGS.filter((flag) => flag.startsWith("--v8-flags="));
  const child = await startStressChild({ poolBytes: POOL_BYTES, dataDir }, v8Flags);
  let inUseAtExit = -1;
  try {
    const body = echoCapnpBody(UPLOAD_BYTES);
    const blocks = await classBlocksFor(child.plainUrl, body.length);
    const result = await runOverload({
      baseUrl: child.plainUrl,
      path: "/rpc/system.echo",
      pid: child.pid,
      body,
      contentType: "application/capnp",
      concurrency: OVERLOAD_FACTOR * blocks,
      seconds: stressSeconds(),
    });
    const inUse = await poolInUseFromMetrics(child.plainUrl);
    const summary = {
      concurrency: OVERLOAD_FACTOR * blocks,
      statuses: Object.fromEntries(result.statuses),
      healthOk: result.healthOk,
      rssIdleMiB: +(result.rssIdleBytes / MIB).toFixed(1),
      rssPeakMiB: +(result.rssPeakBytes / MIB).toFixed(1),
      poolMiB: +(child.poolBytes / MIB).toFixed(1),
      peakOverPoolMiB: +((result.rssPeakBytes - child.poolBytes) / MIB).toFixed(1),
    };
    console.log(`overload: ${JSON.stringify(summary)}`);
    assert.deepEqual(result.errors, [], "transport errors");
    for (const status of result.statuses.keys()) {
      assert.ok(status === 200 || status === 503, `unexpected status ${status}`);
    }
    assert.ok((result.statuses.get(200) ?? 0) > 0, "some uploads succeed");
    assert.ok((result.statuses.get(503) ?? 0) > 0, "the overload is real: some are refused");
    assert.equal(result.retryAfterMissing, 0, "every 503 carries Retry-After");
    assert.deepEqual(result.healthFailures, [], "/healthz answers during the load");
    assert.ok(result.healthOk > 0, "/healthz was polled");
    assert.ok(
      result.rssPeakBytes <= child.poolBytes + RSS_OVER_POOL_BYTES_MAX,
      `peak RSS ${result.rssPeakBytes} exceeds the pool's ${child.poolBytes} bytes + 96 MiB`,
    );
    assert.equal(inUse, 0, "pool blocks in use after the load (/metrics)");
  } finally {
    inUseAtExit = await child.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
  assert.equal(inUseAtExit, 0, "pool blocks in use at shutdown");
});
