/**
 * OpenTelemetry through Deno's built-in support: the real service process with `OTEL_DENO=true`
 * exports spans (OTLP over HTTP/protobuf) to a collector on a free loopback port. The test's
 * collector is a plain HTTP server that keeps what arrives on /v1/traces; span names are UTF-8
 * strings inside the protobuf, so the dispatch span and the store spans are found by name.
 * Without OTEL_DENO the ready line reports tracing off.
 */

import assert from "@std/assert";
import { startServiceProcess } from "./_service_process.ts";

const latin1 = new TextDecoder("latin1");

Deno.test("tracing: OTEL_DENO=true exports dispatch and store spans; off by default", async () => {
  let traces = "";
  const collector = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (req) => {
      const body = latin1.decode(await req.bytes());
      if (new URL(req.url).pathname === "/v1/traces") traces += body;
      return new Response(null, { status: 200 });
    },
  );
  try {
    const svc = await startServiceProcess([], {
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.addr.port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      },
    });
    let code = -1;
    try {
      assert.equal(svc.ready.tracing, true);
      const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
      const response = await fetch(`${svc.plainUrl}/rpc/worknode.create`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: '{"kind":"traced","properties":[]}',
      });
      assert.equal(response.status, 200, await response.text());
    } finally {
      // Deno flushes the span batch when the process exits.
      code = (await svc.stop()).code;
    }
    assert.equal(code, 0);
    assert.ok(traces.includes("rpc worknode.create"), "the dispatch span was exported");
    assert.ok(traces.includes("store.create"), "the store span was exported");
    assert.ok(traces.includes("worknode.create"), "the rpc.method attribute");
  } finally {
    await collector.shutdown();
  }
  const plain = await startServiceProcess([], { env: { OTEL_DENO: "false" } });
  try {
    assert.equal(plain.ready.tracing, false);
  } finally {
    assert.equal((await plain.stop()).code, 0);
  }
});
