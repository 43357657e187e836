/** The request log through the real service (real pool, real sockets): calls, errors, batches. */

import assert from "@std/assert";
import { RequestLog } from "../rpc/request_log.ts";
import { startTestService } from "./_rpc_harness.ts";
import { requestFrame } from "./_frames.ts";
import { SystemEchoParamsCodec } from "../schema/system_capnp.ts";

Deno.test("request log: one JSON line per call and per batch, with sizes, status and transport", async () => {
  const lines: string[] = [];
  const t = await startTestService({ requestLog: new RequestLog((line) => lines.push(line)) });
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
    const parsed = lines.map((line) => JSON.parse(line));
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
  }
});
