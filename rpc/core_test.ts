/**
 * The call core in process over a real pool: the admission checks in their order, the answer
 * delivered synchronously when it can be, deadlines and body stalls on the one clock, a lease
 * lent to a transport read, a client gone during a handler, and batches. The pool is back to 0
 * after each test.
 */

import assert from "@std/assert";
import { emptyStructCodec } from "../capnp/empty_codec.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { openCore } from "../tests/_core.ts";
import type { AnswerSink, CallAnswer } from "./answer.ts";
import { Authenticator, hashToken } from "./auth.ts";
import { CallHead } from "./call_head.ts";
import { defineMethod } from "./method.ts";
import { METHODS } from "./methods.ts";
import { HTTP_METHOD } from "./route.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Empty = Record<string, never>;
const empty = emptyStructCodec<Empty>("Empty");
/** A handler that waits until the test lets it finish, watching its signal. */
const gate = { release: () => {}, signal: null as AbortSignal | null };
const testSlow = defineMethod<Empty, Empty>({
  name: "test.slow",
  mutating: false,
  requestBytesMax: () => 4096,
  params: empty,
  result: empty,
  handle: (_params, ctx) => {
    gate.signal = ctx.signal;
    return new Promise<Empty>((resolve) => gate.release = () => resolve({}));
  },
});
const TEST_METHODS = [...METHODS, testSlow];

/** A sink that keeps every answer it gets. */
class Answers implements AnswerSink {
  readonly got: CallAnswer[] = [];
  answer(answer: CallAnswer): void {
    this.got.push(answer);
  }
  /** The one answer, as status + parsed JSON error code (or body text); released. */
  take(): { status: number; code: string | null; fields: Map<string, string>; text: string } {
    assert.equal(this.got.length, 1, "exactly one answer");
    const answer = this.got.pop()!;
    const text = decoder.decode(answer.body);
    const fields = new Map(answer.fields.map(([n, v]) => [n, v]));
    answer.release();
    let code: string | null = null;
    try {
      code = JSON.parse(text).error?.code ?? null;
    } catch {
      // Not JSON.
    }
    return { status: answer.status, code, fields, text };
  }
}

function head(method: string, fields: Partial<CallHead> = {}): CallHead {
  const h = new CallHead("h1");
  h.methodCode = HTTP_METHOD.post;
  h.targetBytes = encoder.encode(`/rpc/${method}`);
  h.nameStart = 5;
  h.nameEnd = h.targetBytes.length;
  h.contentType = "application/json";
  h.contentTypeCount = 1;
  return Object.assign(h, fields);
}

const ECHO = encoder.encode(JSON.stringify({ payload: btoa("hi") }));

Deno.test("core: a buffered body and a synchronous handler are answered inside end()", async () => {
  const t = openCore();
  try {
    const sink = new Answers();
    const call = t.core.open(head("system.echo", { contentLengthBytes: ECHO.length }), sink)!;
    assert.ok(call !== null);
    assert.equal(t.pool.inUseCount(), 1, "the request block is taken at open");
    assert.equal(call.push(ECHO), true);
    call.end();
    assert.equal(sink.got.length, 1, "answered synchronously");
    assert.equal(t.pool.inUseCount(), 1, "the answer's block until the transport releases it");
    const answer = sink.take();
    assert.equal(answer.status, 200);
    assert.equal(atob(JSON.parse(answer.text).payload), "hi");
    assert.equal(t.pool.inUseCount(), 0);
    assert.equal(t.clock.armedCount, 0, "the call's timeout is disarmed");
  } finally {
    await t.close();
  }
});

Deno.test("core: refusals in order, each before any block is taken", async () => {
  const auth = new Authenticator([{ name: "r", scope: "read", sha256: hashToken("read") }]);
  const t = openCore({ auth });
  const bearer = "Bearer read";
  const cases: [Partial<CallHead>, string, number, string][] = [
    [{ methodCode: HTTP_METHOD.other }, "system.echo", 405, "unimplemented"],
    [{}, "no.such", 501, "unimplemented"],
    [{ authorization: bearer, authorizationCount: 2 }, "system.echo", 400, "invalid_argument"],
    [{}, "system.echo", 401, "unauthenticated"],
    [{ authorization: bearer, authorizationCount: 1 }, "worknode.create", 403, "permission_denied"],
    [
      { authorization: bearer, authorizationCount: 1, contentType: "text/plain" },
      "system.echo",
      415,
      "invalid_argument",
    ],
    [
      { authorization: bearer, authorizationCount: 1, contentLengthBytes: 1 << 20 },
      "system.echo",
      413,
      "resource_exhausted",
    ],
    [
      { authorization: bearer, authorizationCount: 1, rpcTimeoutMs: "soon", rpcTimeoutMsCount: 1 },
      "system.echo",
      400,
      "invalid_argument",
    ],
  ];
  try {
    for (const [fields, method, status, code] of cases) {
      const sink = new Answers();
      assert.equal(t.core.open(head(method, fields), sink), null, `${status} ${method}`);
      const answer = sink.take();
      assert.equal(answer.status, status, answer.text);
      assert.equal(answer.code, code);
      assert.equal(t.pool.inUseCount(), 0);
      if (status === 405) assert.equal(answer.fields.get("allow"), "GET, POST, OPTIONS");
    }
  } finally {
    await t.close();
  }
});

Deno.test("core: a pool with no free block is 503 with Retry-After", async () => {
  const t = openCore();
  const held = [];
  try {
    for (let lease = t.pool.tryAcquire(100); lease !== null; lease = t.pool.tryAcquire(100)) {
      held.push(lease);
    }
    const sink = new Answers();
    assert.equal(t.core.open(head("system.echo", { contentLengthBytes: 10 }), sink), null);
    const answer = sink.take();
    assert.equal(answer.status, 503);
    assert.equal(answer.fields.get("retry-after"), "1");
    assert.equal(t.core.deps.metrics.rejectedCount("pool_exhausted"), 1);
  } finally {
    for (const lease of held) lease.release();
    await t.close();
  }
});

Deno.test("core: the deadline during an async handler answers 504 and aborts its signal", async () => {
  const t = openCore({ methods: TEST_METHODS });
  try {
    const sink = new Answers();
    const call = t.core.open(
      head("test.slow", { contentLengthBytes: 2, rpcTimeoutMs: "50", rpcTimeoutMsCount: 1 }),
      sink,
    )!;
    call.push(encoder.encode("{}"));
    call.end();
    assert.equal(sink.got.length, 0);
    const started = Date.now();
    while (sink.got.length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const answer = sink.take();
    assert.equal(answer.status, 504);
    assert.equal(answer.code, "deadline_exceeded");
    assert.equal(gate.signal?.aborted, true);
    assert.ok(gate.signal?.reason instanceof RpcError);
    gate.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sink.got.length, 0, "the late result is dropped");
  } finally {
    await t.close();
  }
});

Deno.test("core: a client gone during an async handler is canceled and never answered", async () => {
  const lines: string[] = [];
  const { RequestLog } = await import("./request_log.ts");
  const t = openCore({ methods: TEST_METHODS, requestLog: new RequestLog((l) => lines.push(l)) });
  try {
    const sink = new Answers();
    const call = t.core.open(head("test.slow", { contentLengthBytes: 0 }), sink)!;
    call.end();
    call.abort(new Error("the client closed the connection"));
    assert.equal(gate.signal?.aborted, true);
    assert.equal((gate.signal?.reason as RpcError).code, "canceled");
    gate.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sink.got.length, 0);
    assert.equal(JSON.parse(lines.at(-1)!).code, "canceled");
  } finally {
    await t.close();
  }
});

Deno.test("core: a stalled body is 408; a lent room keeps the lease until commit", async () => {
  const t = openCore({ coreLimits: { bodyStallTimeoutMs: 30 } });
  try {
    const sink = new Answers();
    const call = t.core.open(head("system.echo", { contentLengthBytes: 100 }), sink)!;
    call.push(encoder.encode('{"payload":"'));
    const room = call.room();
    assert.equal(room.length, 88);
    const started = Date.now();
    while (sink.got.length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const answer = sink.take();
    assert.equal(answer.status, 408);
    assert.equal(answer.code, "deadline_exceeded");
    assert.equal(t.pool.inUseCount(), 1, "a transport read still views the block");
    assert.equal(call.commit(3), false, "the call takes no more body");
    assert.equal(t.pool.inUseCount(), 0, "released once the read settled");
    assert.equal(call.bodyDone, false);
  } finally {
    await t.close();
  }
});

Deno.test("core: a malformed body reported by the transport is 400; abort is idempotent", async () => {
  const t = openCore();
  try {
    const sink = new Answers();
    const call = t.core.open(head("system.echo", { contentLengthBytes: -1 }), sink)!;
    call.fail(new RpcError("invalid_argument", "Cannot decode chunked body: bad size"));
    assert.equal(sink.take().status, 400);
    call.abort();
    call.abort();
    assert.equal(sink.got.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("core: JSON calls draw on the JSON decode budget; spent is 503, capnp unaffected", async () => {
  const t = openCore({ jsonBudgetBytes: 16384 });
  try {
    const held = [];
    for (let i = 0; i < 2; i++) {
      const call = t.core.open(head("system.echo", { contentLengthBytes: 1500 }), new Answers());
      assert.ok(call !== null);
      held.push(call);
    }
    assert.equal(t.core.deps.jsonBudget.inUseBytes, 12000);
    const sink = new Answers();
    assert.equal(t.core.open(head("system.echo", { contentLengthBytes: 1500 }), sink), null);
    const refused = sink.take();
    assert.equal(refused.status, 503);
    assert.equal(refused.fields.get("retry-after"), "1");
    assert.match(refused.text, /JSON decode budget is spent/);
    assert.equal(t.core.deps.metrics.rejectedCount("json_budget"), 1);
    const capnp = t.core.open(
      head("system.echo", { contentLengthBytes: 1500, contentType: "application/capnp" }),
      new Answers(),
    );
    assert.ok(capnp !== null, "a binary call needs no JSON budget");
    capnp?.abort();
    for (const call of held) call?.abort();
    assert.equal(t.core.deps.jsonBudget.inUseBytes, 0, "given back when the calls end");
  } finally {
    await t.close();
  }
});
