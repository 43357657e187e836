/**
 * Bearer-token auth through the real service (real pool, real sockets): 401 without or with a bad
 * token, 403 for a read token on a mutating method, and a rejected call never reaching its handler
 * or taking a block: the test methods count their calls, and the pool's alloc count stays put
 * even when the request declares a body it never sends.
 */

import assert from "@std/assert";
import { frameByteLength } from "../capnp/mod.ts";
import { readResponse } from "../rpc/envelope.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { defineMethod } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { SystemConfigParamsCodec } from "../schema/system_capnp.ts";
import { requestFrame } from "./_frames.ts";
import { postHead, rawPost } from "./_raw_http.ts";
import { allocTotal, startTestService, type TestService } from "./_rpc_harness.ts";

const TOKENS = [
  { name: "ops", scope: "admin" as const, sha256: hashToken("admin-secret") },
  { name: "ci", scope: "write" as const, sha256: hashToken("write-secret") },
  { name: "viewer", scope: "read" as const, sha256: hashToken("read-secret") },
];

/** Test-only methods that count the calls that reached them (never in the production table). */
function countingMethods() {
  const calls = { write: 0, read: 0 };
  const method = (name: "write" | "read") =>
    defineMethod({
      name: `test.${name}`,
      mutating: name === "write",
      requestBytesMax: () => 1024,
      params: SystemConfigParamsCodec,
      result: SystemConfigParamsCodec,
      handle: () => {
        calls[name]++;
        return {};
      },
    });
  return { calls, methods: [...METHODS, method("write"), method("read")] };
}

async function call(t: TestService, method: string, token: string | null) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${t.plainUrl}/rpc/${method}`, {
    method: "POST",
    headers,
    body: "{}",
  });
  const body = await response.json();
  return { status: response.status, code: body.error?.code ?? "ok" };
}

Deno.test("auth: 401 without or with a bad token, 403 for read on mutating, 200 otherwise", async () => {
  const { calls, methods } = countingMethods();
  const t = await startTestService({ methods, auth: new Authenticator(TOKENS) });
  try {
    const before = allocTotal(t.pool);
    assert.deepEqual(await call(t, "test.write", null), { status: 401, code: "unauthenticated" });
    assert.deepEqual(await call(t, "test.read", null), { status: 401, code: "unauthenticated" });
    assert.deepEqual(await call(t, "test.write", "nope"), { status: 401, code: "unauthenticated" });
    assert.deepEqual(await call(t, "test.write", "read-secret"), {
      status: 403,
      code: "permission_denied",
    });
    assert.deepEqual(calls, { write: 0, read: 0 }, "no rejected call reached its handler");
    assert.equal(allocTotal(t.pool), before, "no rejected call took a block");
    assert.deepEqual(await call(t, "test.read", "read-secret"), { status: 200, code: "ok" });
    assert.deepEqual(await call(t, "test.write", "write-secret"), { status: 200, code: "ok" });
    assert.deepEqual(await call(t, "test.write", "admin-secret"), { status: 200, code: "ok" });
    assert.deepEqual(calls, { write: 2, read: 1 });
    assert.ok(allocTotal(t.pool) > before, "accepted calls do take blocks");
    const metrics = await (await fetch(`${t.plainUrl}/metrics`)).text();
    assert.match(metrics, /rpc_rejected_total\{reason="unauthenticated"\} 3/);
    assert.match(metrics, /rpc_rejected_total\{reason="permission_denied"\} 1/);
  } finally {
    await t.close();
  }
});

Deno.test("auth: the check comes before the body: a declared body never sent is not waited for", async () => {
  const { calls, methods } = countingMethods();
  const t = await startTestService({ methods, auth: new Authenticator(TOKENS) });
  try {
    const before = allocTotal(t.pool);
    const capnp = { "content-type": "application/capnp", "content-length": "900" };
    const anonymous = await rawPost(t.svc.plaintextPort!, postHead("/rpc/test.write", capnp));
    assert.equal(anonymous.status, 401);
    assert.equal(readResponse(anonymous.bodyBytes).error?.code, "unauthenticated");
    const reader = await rawPost(
      t.svc.plaintextPort!,
      postHead("/rpc/test.write", { ...capnp, authorization: "Bearer read-secret" }),
    );
    assert.equal(reader.status, 403);
    assert.equal(readResponse(reader.bodyBytes).error?.code, "permission_denied");
    assert.equal(allocTotal(t.pool), before);
    assert.deepEqual(calls, { write: 0, read: 0 });
  } finally {
    await t.close();
  }
});

Deno.test("auth: a batch without a token is refused before its body; scopes apply per call", async () => {
  const { calls, methods } = countingMethods();
  const t = await startTestService({ methods, auth: new Authenticator(TOKENS) });
  try {
    const before = allocTotal(t.pool);
    const head = postHead("/rpc", { "content-type": "application/capnp", "content-length": "900" });
    const anonymous = await rawPost(t.svc.plaintextPort!, head);
    assert.equal(anonymous.status, 401);
    assert.equal(allocTotal(t.pool), before);
    const read = requestFrame("test.read", SystemConfigParamsCodec, {}, 1);
    const write = requestFrame("test.write", SystemConfigParamsCodec, {}, 2);
    const body = new Uint8Array(read.length + write.length);
    body.set(read);
    body.set(write, read.length);
    const response = await fetch(`${t.plainUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/capnp", authorization: "Bearer read-secret" },
      body,
    });
    assert.equal(response.status, 200);
    const bytes = await response.bytes();
    const firstBytes = frameByteLength(bytes, 0);
    const first = readResponse(bytes.subarray(0, firstBytes));
    assert.equal(first.requestId, 1);
    assert.equal(first.error, null);
    const second = readResponse(bytes.subarray(firstBytes));
    assert.equal(second.requestId, 2);
    assert.equal(second.error?.code, "permission_denied");
    assert.deepEqual(calls, { write: 0, read: 1 });
  } finally {
    await t.close();
  }
});

Deno.test("auth: --public-read opens read-only methods; health, readiness and metrics stay open", async () => {
  const { calls, methods } = countingMethods();
  const t = await startTestService({
    methods,
    auth: new Authenticator(TOKENS, { publicRead: true }),
  });
  try {
    assert.deepEqual(await call(t, "test.read", null), { status: 200, code: "ok" });
    assert.deepEqual(await call(t, "test.write", null), { status: 401, code: "unauthenticated" });
    assert.deepEqual(calls, { write: 0, read: 1 });
    for (const path of ["/healthz", "/readyz", "/metrics"]) {
      const response = await fetch(`${t.plainUrl}${path}`);
      await response.body?.cancel();
      assert.equal(response.status, 200, path);
    }
  } finally {
    await t.close();
  }
});
