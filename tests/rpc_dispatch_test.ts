/**
 * Dispatch over real sockets: lookup before body, size limits, hostile frames, pool exhaustion,
 * client aborts and deadlines. Every test ends with the pool's in-use count at 0 (the harness
 * asserts it on close).
 */

import assert from "@std/assert";
import { SystemConfigParamsCodec, SystemEchoParamsCodec } from "../schema/system_capnp.ts";
import { readResponse } from "../rpc/envelope.ts";
import { defineMethod } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { allocTotal, eventually, startTestService } from "./_rpc_harness.ts";
import { hostileRequest, listPtr, requestFrame, type Word } from "./_frames.ts";
import { postHead, rawPost } from "./_raw_http.ts";

const CAPNP = { "content-type": "application/capnp" };

async function postFrame(url: string, method: string, body: Uint8Array<ArrayBuffer>) {
  const response = await fetch(`${url}/rpc/${method}`, { method: "POST", headers: CAPNP, body });
  return { status: response.status, headers: response.headers, bytes: await response.bytes() };
}

Deno.test("unknown method: 501 before the body is read, no block taken", async () => {
  const t = await startTestService();
  try {
    const before = allocTotal(t.pool);
    // The head declares a 60 KB body that is never sent: a server reading the body would hang.
    const head = postHead("/rpc/no.such.method", { ...CAPNP, "content-length": "60000" });
    const response = await rawPost(t.svc.plaintextPort!, head);
    assert.equal(response.status, 501);
    const error = readResponse(response.bodyBytes).error;
    assert.equal(error?.code, "unimplemented");
    const json = await rawPost(
      t.svc.plaintextPort!,
      postHead("/rpc/" + "x".repeat(300), {
        "content-type": "application/json",
        "content-length": "9",
      }),
    );
    assert.equal(json.status, 501);
    assert.equal(JSON.parse(json.body).error.code, "unimplemented");
    assert.equal(allocTotal(t.pool), before);
  } finally {
    await t.close();
  }
});

Deno.test("declared size over the method's limit: 413 before any block is taken", async () => {
  const t = await startTestService();
  try {
    const before = allocTotal(t.pool);
    const head = postHead("/rpc/system.config", { ...CAPNP, "content-length": "5000" });
    const response = await rawPost(t.svc.plaintextPort!, head);
    assert.equal(response.status, 413);
    assert.equal(
      readResponse(response.bodyBytes).error?.code,
      "resource_exhausted",
    );
    assert.equal(allocTotal(t.pool), before);
  } finally {
    await t.close();
  }
});

Deno.test("envelope methodName differing from the path: 400 invalid_argument", async () => {
  const t = await startTestService();
  try {
    const frame = requestFrame("system.config", SystemConfigParamsCodec, {}, 42);
    const { status, bytes } = await postFrame(t.plainUrl, "system.echo", frame);
    assert.equal(status, 400);
    const response = readResponse(bytes);
    assert.equal(response.requestId, 42);
    assert.equal(response.error?.code, "invalid_argument");
    const unknownInside = requestFrame("system.nope", SystemConfigParamsCodec, {});
    assert.equal((await postFrame(t.plainUrl, "system.config", unknownInside)).status, 400);
  } finally {
    await t.close();
  }
});

Deno.test("truncated and hostile frames: 400 with a capnp reason, pool back to 0", async () => {
  const t = await startTestService();
  try {
    const echo = requestFrame("system.echo", SystemEchoParamsCodec, {
      payload: new Uint8Array(64),
    });
    const bomb = new Uint8Array(16);
    new DataView(bomb.buffer).setUint32(0, 99_999_999, true);
    const none: Word = [0, 0];
    // 2^27 zero-size structs in a composite list that occupies zero words.
    const zeroSizeList = hostileRequest("worknode.create", [none, listPtr(1, 7, 0), none], [
      [(1 << 27) * 4, 0],
    ]);
    const outOfRange = hostileRequest("worknode.create", [listPtr(100_000, 2, 5), none, none], []);
    const cases: [string, Uint8Array<ArrayBuffer>][] = [
      ["system.echo", echo.slice(0, echo.length - 24)],
      ["system.echo", bomb],
      ["worknode.create", zeroSizeList],
      ["worknode.create", outOfRange],
      ["system.echo", new Uint8Array(3)],
    ];
    for (const [method, body] of cases) {
      const { status, bytes } = await postFrame(t.plainUrl, method, body);
      assert.equal(status, 400, `${method} with ${body.length} hostile bytes`);
      assert.equal(readResponse(bytes).error?.code, "invalid_argument");
      assert.equal(t.pool.inUseCount(), 0);
    }
  } finally {
    await t.close();
  }
});

Deno.test("pool exhausted: 503 + Retry-After, then success after a release", async () => {
  const t = await startTestService({
    classes: [{ blockSizeBytes: 4096, blockCount: 2 }, { blockSizeBytes: 65536, blockCount: 1 }],
  });
  const held = [];
  try {
    for (let lease = t.pool.tryAcquire(100); lease !== null; lease = t.pool.tryAcquire(100)) {
      held.push(lease);
    }
    const body = JSON.stringify({ payload: "AQID" });
    const json = { "content-type": "application/json" };
    const refused = await fetch(`${t.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: json,
      body,
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await refused.json()).error.code, "unavailable");
    const ready = await fetch(`${t.plainUrl}/readyz`);
    assert.equal(ready.status, 503);
    await ready.body?.cancel();
    held.pop()!.release();
    const ok = await fetch(`${t.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: json,
      body,
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { payload: "AQID" });
  } finally {
    for (const lease of held) lease.release();
    await t.close();
  }
});

Deno.test("client aborts mid-body: the request's lease is released", async () => {
  const t = await startTestService();
  try {
    const before = allocTotal(t.pool);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.svc.plaintextPort! });
    const head = postHead("/rpc/system.echo", { ...CAPNP, "content-length": "3000" });
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(100));
    await eventually(() => t.pool.inUseCount() === 1);
    conn.close();
    await eventually(() => t.pool.inUseCount() === 0);
    assert.equal(allocTotal(t.pool), before + 1);
  } finally {
    await t.close();
  }
});

/** A test-only method that waits for its signal (never in the production table). */
const slow = defineMethod({
  name: "test.slow",
  mutating: false,
  requestBytesMax: () => 1024,
  params: SystemConfigParamsCodec,
  result: SystemConfigParamsCodec,
  handle: (_params, ctx) =>
    new Promise((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("slow method was not aborted")), 10_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      }, { once: true });
    }),
});

Deno.test("deadline: Rpc-Timeout-Ms and the server maximum both end in 504", async () => {
  const t = await startTestService({ methods: [...METHODS, slow], rpcTimeoutMsMax: 200 });
  try {
    const frame = requestFrame("test.slow", SystemConfigParamsCodec, {}, 5);
    const short = await fetch(`${t.plainUrl}/rpc/test.slow`, {
      method: "POST",
      headers: { ...CAPNP, "rpc-timeout-ms": "20" },
      body: frame,
    });
    assert.equal(short.status, 504);
    const response = readResponse(await short.bytes());
    assert.equal(response.requestId, 5);
    assert.equal(response.error?.code, "deadline_exceeded");
    // A header above the server maximum is clamped to it (200 ms), not honoured.
    const clamped = await fetch(`${t.plainUrl}/rpc/test.slow`, {
      method: "POST",
      headers: { "content-type": "application/json", "rpc-timeout-ms": "999999" },
      body: "{}",
    });
    assert.equal(clamped.status, 504);
    assert.equal((await clamped.json()).error.code, "deadline_exceeded");
    const bad = await fetch(`${t.plainUrl}/rpc/test.slow`, {
      method: "POST",
      headers: { "content-type": "application/json", "rpc-timeout-ms": "soon" },
      body: "{}",
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("unsupported media type: 415 without reading the body", async () => {
  const t = await startTestService();
  try {
    const before = allocTotal(t.pool);
    const response = await fetch(`${t.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    assert.equal(response.status, 415);
    assert.equal((await response.json()).error.code, "invalid_argument");
    assert.equal(allocTotal(t.pool), before);
  } finally {
    await t.close();
  }
});

Deno.test("client disconnect during an async handler aborts its signal with canceled", async () => {
  let started!: () => void;
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  let abortReason: unknown = null;
  const waiting = defineMethod({
    name: "test.waiting",
    mutating: false,
    requestBytesMax: () => 1024,
    params: SystemConfigParamsCodec,
    result: SystemConfigParamsCodec,
    handle: (_params, ctx) =>
      new Promise((_resolve, reject) => {
        started();
        ctx.signal.addEventListener("abort", () => {
          abortReason = ctx.signal.reason;
          reject(ctx.signal.reason);
        }, { once: true });
      }),
  });
  const t = await startTestService({ methods: [...METHODS, waiting] });
  try {
    const controller = new AbortController();
    const pending = fetch(`${t.plainUrl}/rpc/test.waiting`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: controller.signal,
    }).catch((e) => e);
    await handlerStarted;
    controller.abort();
    await pending;
    await eventually(() => abortReason !== null);
    assert.equal((abortReason as { code?: string }).code, "canceled");
  } finally {
    await t.close();
  }
});
