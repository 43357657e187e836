/**
 * The as-shipped bench's load scripts against the real service (main.ts as `deno task start`
 * runs it, auth on): bench/call_load.lua's update cycle gets every `worknode.update` answered
 * 200 (no version conflict: wrk's unsent probe request is not counted), its fixed-body mode
 * posts the file it is given, and the Deno load client's HTTP/3 updates succeed too. The pool is
 * back to 0 afterwards.
 */

import assert from "@std/assert";
import { CALL_ROWS, writeBodyFiles } from "./_call_rows.ts";
import { runDenoClient, runWrk } from "./_load_generators.ts";
import { startShippedService } from "./_shipped_service.ts";
import { poolInUseFromMetrics } from "../tests/_stress.ts";

const UPDATE_COUNT = 100;

Deno.test("call_load.lua and the Deno load client: updates all succeed, bodies as given", async () => {
  const svc = await startShippedService({ poolBytes: "16MiB", seedCount: 3 * UPDATE_COUNT });
  const dir = await Deno.makeTempDir({ prefix: "call-load-test-" });
  try {
    const bodies = writeBodyFiles(dir);
    const common = { token: svc.token, seconds: 1, onMeasuring: () => {} };
    const update = CALL_ROWS.update;
    for (const offset of [0, UPDATE_COUNT]) {
      const run = await runWrk({
        ...common,
        url: `${svc.plainUrl}${update.path}`,
        contentType: update.contentType,
        bodyPath: null,
        update: { offset, count: UPDATE_COUNT },
        status: 200,
      });
      assert.ok(run.requests > UPDATE_COUNT, `wrk updates: ${run.requests} (a second cycle)`);
      assert.equal(run.unexpected, 0, `wrk updates: ${run.answers}`);
    }
    const echo = CALL_ROWS.binaryEcho;
    const echoRun = await runWrk({
      ...common,
      url: `${svc.plainUrl}${echo.path}`,
      contentType: echo.contentType,
      bodyPath: bodies.get("binaryEcho")!,
      update: null,
      status: 200,
    });
    assert.ok(echoRun.requests > 0);
    assert.equal(echoRun.unexpected, 0, `wrk echo: ${echoRun.answers}`);
    const h3Run = await runDenoClient("h3", {
      port: svc.port,
      caPath: svc.caPath,
      path: update.path,
    }, {
      ...common,
      contentType: update.contentType,
      bodyPath: null,
      update: { offset: 2 * UPDATE_COUNT, count: UPDATE_COUNT },
      status: 200,
    }, 0);
    assert.ok(h3Run.requests > 0);
    assert.equal(h3Run.unexpected, 0, `h3 updates: ${h3Run.answers}`);
    assert.equal(await poolInUseFromMetrics(svc.plainUrl), 0, "pool blocks in use after the loads");
  } finally {
    await Deno.remove(dir, { recursive: true });
    assert.equal(await svc.stop(), 0, "the service stops cleanly");
  }
});
