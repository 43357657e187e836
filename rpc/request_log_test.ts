import assert from "@std/assert";
import { RequestLog, requestLogFor } from "./request_log.ts";

Deno.test("requestLogFor: info and debug log requests, warn and error do not", () => {
  assert.ok(requestLogFor("debug") instanceof RequestLog);
  assert.ok(requestLogFor("info") instanceof RequestLog);
  assert.equal(requestLogFor("warn"), null);
  assert.equal(requestLogFor("error"), null);
});

Deno.test("RequestLog.record writes one JSON line with every field", () => {
  const lines: string[] = [];
  new RequestLog((line) => lines.push(line)).record({
    method: "system.echo",
    code: "ok",
    httpStatus: 200,
    durationMs: 1.23456,
    bytesIn: 18,
    bytesOut: 18,
    leasesHeld: 2,
    transport: "h3",
  });
  assert.equal(lines.length, 1);
  const { ts, ...rest } = JSON.parse(lines[0]);
  assert.ok(!Number.isNaN(Date.parse(ts)));
  assert.deepEqual(rest, {
    level: "info",
    msg: "rpc",
    method: "system.echo",
    code: "ok",
    httpStatus: 200,
    durationMs: 1.235,
    bytesIn: 18,
    bytesOut: 18,
    leasesHeld: 2,
    transport: "h3",
  });
});
