/** The request log through the real service (real pool, real sockets): calls, errors, batches;
 * and through `main.ts` in a child process, its stdout a pipe. */

import assert from "@std/assert";
import { RequestLog } from "../rpc/request_log.ts";
import { startTestService } from "./_rpc_harness.ts";
import { requestFrame } from "./_frames.ts";
import { SystemEchoParamsCodec } from "../schema/system_capnp.ts";
import { startServiceProcess } from "./_service_process.ts";

/** A file the log writes to, read back as lines. */
async function fileSink() {
  const path = await Deno.makeTempFile({ prefix: "request-log-" });
  const file = await Deno.open(path, { write: true, truncate: true });
  return {
    file,
    async lines(): Promise<string[]> {
      const text = await Deno.readTextFile(path);
      return text === "" ? [] : text.slice(0, -1).split("\n");
    },
    async remove() {
      file.close();
      await Deno.remove(path);
    },
  };
}

Deno.test("request log: one JSON line per call and per batch, with sizes, status and transport", async () => {
  const sink = await fileSink();
  const log = new RequestLog({ sink: sink.file });
  const t = await startTestService({ requestLog: log });
  try {
    const ok = await fetch(`${t.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"payload":"AQID"}',
    });
    assert.equal(await ok.text(), '{"payload":"AQID"}');
    const bad = await fetch(`${t.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    const badBody = await bad.bytes();
    const frame = requestFrame(
      "system.echo",
      SystemEchoParamsCodec,
      { payload: new Uint8Array(3) },
      1,
    );
    const batch = await fetch(`${t.plainUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/capnp" },
      body: frame,
    });
    const batchBody = await batch.bytes();
    await log.flush();
    const parsed = (await sink.lines()).map((line) => JSON.parse(line));
    assert.equal(parsed.length, 3);
    for (const entry of parsed) {
      assert.equal(entry.level, "info");
      assert.equal(entry.msg, "rpc");
      assert.equal(entry.transport, "h1");
      assert.ok(!Number.isNaN(Date.parse(entry.ts)));
      assert.equal(typeof entry.durationMs, "number");
      assert.equal(typeof entry.leasesHeld, "number");
    }
    const pick = ({ method, code, httpStatus, bytesIn, bytesOut }: Record<string, unknown>) => ({
      method,
      code,
      httpStatus,
      bytesIn,
      bytesOut,
    });
    assert.deepEqual(parsed.map(pick), [
      { method: "system.echo", code: "ok", httpStatus: 200, bytesIn: 18, bytesOut: 18 },
      {
        method: "system.echo",
        code: "invalid_argument",
        httpStatus: 400,
        bytesIn: 9,
        bytesOut: badBody.length,
      },
      {
        method: "batch",
        code: "ok",
        httpStatus: 200,
        bytesIn: frame.length,
        bytesOut: batchBody.length,
      },
    ]);
  } finally {
    await t.close();
    await log.close();
    await sink.remove();
  }
});

Deno.test("request log: main.ts writes one line per call to a piped stdout, all before stopped", async () => {
  const svc = await startServiceProcess();
  let stopped = false;
  try {
    const token = (await Deno.readTextFile(`${svc.dataDir}/admin.token`)).trim();
    const callCount = 400;
    const workers = 8;
    const calls = async (worker: number) => {
      for (let i = worker; i < callCount; i += workers) {
        const response = await fetch(`${svc.plainUrl}/rpc/system.echo`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: `{"payload":"${btoa(String(i).padStart(3, "0"))}"}`,
        });
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
    };
    await Promise.all(Array.from({ length: workers }, (_, w) => calls(w)));
    const metrics = await (await fetch(`${svc.plainUrl}/metrics`)).text();
    assert.match(metrics, /^request_log_dropped_total 0$/m);
    const result = await svc.stop();
    stopped = true;
    assert.equal(result.code, 0, result.stderr);
    const msgs = svc.lines.map((line) => line.msg);
    const rpc = svc.lines.filter((line) => line.msg === "rpc");
    assert.equal(rpc.length, callCount);
    for (const line of rpc) {
      assert.deepEqual([line.method, line.code, line.httpStatus, line.transport], [
        "system.echo",
        "ok",
        200,
        "h1",
      ]);
    }
    // Every line parsed (the reader would have thrown on a torn one), in this order:
    assert.deepEqual(msgs.slice(0, 2), ["boot plan", "ready"]);
    assert.deepEqual(msgs.slice(-2), ["stopping", "stopped"]);
  } finally {
    if (!stopped) await svc.stop("SIGKILL");
  }
});
