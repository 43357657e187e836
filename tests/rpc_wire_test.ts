/**
 * The wire forms over real sockets: JSON and binary agree, batches, HTTP/2 over TLS with the
 * generated development CA, health and metrics.
 */

import assert from "@std/assert";
import { readResponse } from "../rpc/envelope.ts";
import { RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { SystemConfigParamsCodec, SystemEchoParamsCodec } from "../schema/system_capnp.ts";
import { CLIENT_METHODS } from "../client/codecs.ts";
import { startTestService } from "./_rpc_harness.ts";
import { requestFrame } from "./_frames.ts";

Deno.test("JSON and binary give the same results", async () => {
  const t = await startTestService();
  const binary = new RpcClient({ url: t.plainUrl });
  const json = new RpcClient({ url: t.plainUrl, wire: "json" });
  try {
    const calls: [keyof typeof CLIENT_METHODS, unknown][] = [
      ["system.echo", { payload: new Uint8Array([0, 1, 2, 250, 255]) }],
      ["system.echo", { payload: new Uint8Array(5000).fill(7) }],
      ["system.config", {}],
      ["system.methods", {}],
    ];
    for (const [method, params] of calls) {
      const codecs = CLIENT_METHODS[method];
      const viaBinary = await binary.call(method, params);
      const viaJson = await json.callJson(method, codecs.params.toJson(params as never));
      assert.deepEqual(codecs.result.toJson(viaBinary as never), viaJson, method);
    }
    // Bad params are invalid_argument with the mapped status.
    const jsonError = await json.callJson("system.echo", { payload: "not base64!" })
      .then(() => null, (e: unknown) => e as RpcError);
    assert.ok(jsonError instanceof RpcError);
    assert.equal(jsonError?.code, "invalid_argument");
    assert.equal(jsonError?.httpStatus, 400);
  } finally {
    await binary.close();
    await json.close();
    await t.close();
  }
});

Deno.test("batch: one bad call gets its own error, the others succeed in order", async () => {
  const t = await startTestService();
  try {
    const frames = [
      requestFrame("system.echo", SystemEchoParamsCodec, { payload: new Uint8Array([1]) }, 1),
      requestFrame("no.such", SystemConfigParamsCodec, {}, 2),
      requestFrame("system.config", SystemConfigParamsCodec, {}, 3),
    ];
    const body = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((at, f) => (body.set(f, at), at + f.length), 0);
    const response = await fetch(`${t.plainUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/capnp" },
      body,
    });
    assert.equal(response.status, 200);
    const bytes = await response.bytes();
    const client = new RpcClient({ url: t.plainUrl });
    try {
      const results = await client.batch([
        { method: "system.echo", params: { payload: new Uint8Array([1]) } },
        { method: "system.config", params: {} },
      ]);
      assert.deepEqual(results[0], { payload: new Uint8Array([1]) });
      assert.equal((results[1] as { profile: string }).profile, "rpc");
    } finally {
      await client.close();
    }
    // Walk the raw answer: three frames, ids 1..3, the middle one unimplemented.
    const ids: number[] = [];
    const codes: (string | null)[] = [];
    let offset = 0;
    for (let i = 0; i < 3; i++) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
      const length = 8 + view.getUint32(4, true) * 8;
      const r = readResponse(bytes.subarray(offset, offset + length));
      ids.push(r.requestId);
      codes.push(r.error?.code ?? null);
      offset += length;
    }
    assert.equal(offset, bytes.length);
    assert.deepEqual(ids, [1, 2, 3]);
    assert.deepEqual(codes, [null, "unimplemented", null]);
  } finally {
    await t.close();
  }
});

Deno.test("batch: more than 64 calls is refused as a whole", async () => {
  const t = await startTestService();
  try {
    const frame = requestFrame("system.config", SystemConfigParamsCodec, {});
    const body = new Uint8Array(frame.length * 65);
    for (let i = 0; i < 65; i++) body.set(frame, i * frame.length);
    const response = await fetch(`${t.plainUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/capnp" },
      body,
    });
    assert.equal(response.status, 413);
    assert.equal(readResponse(await response.bytes()).error?.code, "resource_exhausted");
  } finally {
    await t.close();
  }
});

Deno.test("HTTP/2 over TLS with the generated development CA", async () => {
  const t = await startTestService();
  const ca = await Deno.readTextFile(t.svc.caPath!);
  const client = new RpcClient({ url: t.tlsUrl, http: 2, caCerts: [ca] });
  try {
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: t.svc.port,
      caCerts: [ca],
      alpnProtocols: ["h2", "http/1.1"],
    });
    const { alpnProtocol } = await conn.handshake();
    conn.close();
    assert.equal(alpnProtocol, "h2");
    const result = await client.call("system.echo", { payload: new Uint8Array([4, 2]) });
    assert.deepEqual(result, { payload: new Uint8Array([4, 2]) });
    const response = await fetch(`${t.tlsUrl}/healthz`, {
      client: Deno.createHttpClient({ caCerts: [ca], http1: false, http2: true }),
    });
    assert.equal(await response.text(), "ok");
    assert.match(response.headers.get("alt-svc") ?? "", new RegExp(`h3=":${t.svc.port}"`));
    // Reused on the next start: the same files, not regenerated.
    const before = await Deno.readTextFile(t.svc.certPath);
    const { ensureDevCertificates } = await import("../server/dev_certs.ts");
    const again = await ensureDevCertificates(t.dataDir);
    assert.equal(again.generated, false);
    assert.equal(await Deno.readTextFile(again.certPath), before);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("metrics count requests and rejections; healthz and readyz answer", async () => {
  const t = await startTestService();
  try {
    const json = { "content-type": "application/json" };
    for (const method of ["system.config", "nope"]) {
      const r = await fetch(`${t.plainUrl}/rpc/${method}`, {
        method: "POST",
        headers: json,
        body: "{}",
      });
      await r.body?.cancel();
    }
    assert.equal(await (await fetch(`${t.plainUrl}/healthz`)).text(), "ok");
    assert.equal(
      (await fetch(`${t.plainUrl}/readyz`).then((r) => (r.body?.cancel(), r))).status,
      200,
    );
    const text = await (await fetch(`${t.plainUrl}/metrics`)).text();
    assert.match(text, /rpc_requests_total\{method="system.config",code="ok"\} 1/);
    assert.match(text, /rpc_rejected_total\{reason="unknown_method"\} 1/);
    assert.match(text, /pool_blocks_total\{class_bytes="4096"\} 8/);
    assert.match(text, /pool_blocks_in_use\{class_bytes="65536"\} 0/);
    assert.match(text, /pool_alloc_total\{class_bytes="4096"\} \d+/);
    assert.match(text, /pool_alloc_failures_total\{class_bytes="4096"\} 0/);
    assert.match(text, /rpc_request_duration_seconds_count 1/);
  } finally {
    await t.close();
  }
});

Deno.test("every TCP answer carries Alt-Svc (RPC both wires, errors, 501, batch, routes)", async () => {
  const t = await startTestService();
  const echo = requestFrame("system.echo", SystemEchoParamsCodec, { payload: new Uint8Array([1]) });
  const json = { "content-type": "application/json" };
  const capnp = { "content-type": "application/capnp" };
  const cases: [string, RequestInit, number][] = [
    ["/rpc/system.echo", { method: "POST", headers: json, body: '{"payload":"AQ=="}' }, 200],
    ["/rpc/system.echo", { method: "POST", headers: capnp, body: echo }, 200],
    ["/rpc/system.echo", { method: "POST", headers: json, body: "{" }, 400],
    ["/rpc/system.echo", { method: "POST", headers: json, body: "x".repeat(70000) }, 413],
    ["/rpc/no.such", { method: "POST", headers: json, body: "{}" }, 501],
    ["/rpc/no.such", { method: "POST", headers: capnp, body: echo }, 501],
    ["/rpc", { method: "POST", headers: capnp, body: echo }, 200],
    ["/rpc", { method: "POST", headers: json, body: "{}" }, 415],
    ["/healthz", {}, 200],
    ["/readyz", {}, 200],
    ["/metrics", {}, 200],
    ["/", {}, 200],
    ["/no/such/route", {}, 404],
  ];
  try {
    for (const [path, init, status] of cases) {
      const response = await fetch(`${t.plainUrl}${path}`, init);
      await response.body?.cancel();
      const label = `${init.method ?? "GET"} ${path} ${
        init.headers ? JSON.stringify(init.headers) : ""
      }`;
      assert.equal(response.status, status, label);
      assert.equal(response.headers.get("alt-svc"), `h3=":${t.svc.port}"; ma=86400`, label);
    }
  } finally {
    await t.close();
  }
});

Deno.test("system.pool and the dashboard report the same class counters", async () => {
  const t = await startTestService();
  const json = new RpcClient({ url: t.plainUrl, wire: "json" });
  try {
    const pool = await json.callJson("system.pool", {}) as { classes: Record<string, unknown>[] };
    const response = await fetch(`${t.plainUrl}/api/stats`);
    const dashboard = await response.json() as { pool: { classes: Record<string, unknown>[] } };
    assert.equal(pool.classes.length, 2);
    pool.classes.forEach((c, i) => {
      assert.deepEqual(Object.keys(c).sort(), [
        "allocFailuresTotal",
        "allocTotal",
        "blockSizeBytes",
        "blocksInUse",
        "blocksInUseHighWatermark",
        "blocksTotal",
        "bytesRequestedInUse",
      ]);
      const { bytesRequestedInUse: _inUse, allocTotal: _calls, ...rest } = c;
      const { allocTotal: _dashboardCalls, ...dashboardRest } = dashboard.pool.classes[i];
      // allocTotal moves between the two calls (each call leases blocks); the rest is at rest.
      assert.deepEqual(dashboardRest, rest);
    });
    assert.equal(pool.classes[0].blockSizeBytes, 4096);
  } finally {
    await json.close();
    await t.close();
  }
});
