import assert from "@std/assert";
import { RpcMetrics } from "./metrics.ts";

Deno.test("metrics count per method and code, rejections and a cumulative histogram", () => {
  const metrics = new RpcMetrics(["a.one", "b.two"]);
  metrics.recordRequest(0, "ok", 0.0002);
  metrics.recordRequest(0, "ok", 0.003);
  metrics.recordRequest(1, "not_found", 100);
  metrics.recordRejected("unknown_method");
  assert.equal(metrics.requestCount(0, "ok"), 2);
  assert.equal(metrics.rejectedCount("unknown_method"), 1);
  const text = metrics.render(null);
  assert.match(text, /rpc_requests_total\{method="a.one",code="ok"\} 2/);
  assert.match(text, /rpc_requests_total\{method="b.two",code="not_found"\} 1/);
  assert.match(text, /rpc_rejected_total\{reason="unknown_method"\} 1/);
  assert.match(text, /rpc_request_duration_seconds_bucket\{le="0.00025"\} 1/);
  assert.match(text, /rpc_request_duration_seconds_bucket\{le="0.005"\} 2/);
  assert.match(text, /rpc_request_duration_seconds_bucket\{le="30"\} 2/);
  assert.match(text, /rpc_request_duration_seconds_bucket\{le="\+Inf"\} 3/);
  assert.match(text, /rpc_request_duration_seconds_count 3/);
});

Deno.test("metrics report the process's resident memory", () => {
  const text = new RpcMetrics(["a.one"]).render(null);
  const match = text.match(/^process_resident_memory_bytes (\d+)$/m);
  const rssBytes = Number(match?.[1] ?? 0);
  assert.ok(rssBytes > 1024 * 1024, `process_resident_memory_bytes missing or ${rssBytes}`);
  const heapUsed = Number(text.match(/^process_heap_used_bytes (\d+)$/m)?.[1] ?? 0);
  assert.ok(heapUsed > 1024 * 1024, `process_heap_used_bytes missing or ${heapUsed}`);
  assert.match(text, /^process_heap_external_bytes \d+$/m);
});
