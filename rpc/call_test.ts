import assert from "@std/assert";
import { Pool } from "../pool/mod.ts";
import { SystemEchoParamsCodec, SystemEchoResultCodec } from "../schema/system_capnp.ts";
import { requestFrame } from "../tests/_frames.ts";
import { fixedPlan } from "../tests/_plan.ts";
import { createApp, type RpcApp } from "./app.ts";
import { createBinaryWire } from "./binary_wire.ts";
import {
  type CallBodyReadOptions,
  type CallHead,
  type CallInput,
  serveCall,
  unknownMethodAnswer,
  utf8LengthBytes,
} from "./call.ts";
import { LeaseBodyWriter } from "./body.ts";
import { type AnyMethodSpec, defineMethod } from "./method.ts";
import { METHODS } from "./methods.ts";
import { createRegistry } from "./registry.ts";

const CLASSES = [
  { blockSizeBytes: 4096, blockCount: 2 },
  { blockSizeBytes: 65536, blockCount: 1 },
];

/** An app over a real pool of two 4 KiB blocks and one 64 KiB block. */
function withApp(
  fn: (app: RpcApp, pool: Pool) => Promise<void>,
  methods: readonly AnyMethodSpec[] = METHODS,
): () => Promise<void> {
  return async () => {
    const pool = Pool.open(CLASSES);
    const registry = createRegistry(methods);
    const services = {
      store: null,
      pool,
      plan: fixedPlan(CLASSES),
      config: { rpcTimeoutMsMax: 1000 },
      registry,
    };
    const app = createApp(services, { registry, binary: createBinaryWire(registry, pool) });
    try {
      await fn(app, pool);
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
    } finally {
      app.close();
      pool.close();
    }
  };
}

/**
 * A call input over bytes in memory, delivered in chunks of `chunkBytes` through the same
 * LeaseBodyWriter the transports use; counts how often the body was asked for.
 */
class BytesInput implements CallInput {
  readonly head: CallHead;
  readCount = 0;
  readonly #body: Uint8Array;
  readonly #failWith: Error | null;

  constructor(body: Uint8Array, head: Partial<CallHead>, failWith: Error | null = null) {
    this.#body = body;
    this.#failWith = failWith;
    this.head = {
      contentType: null,
      contentLength: String(body.length),
      rpcTimeoutMs: null,
      authorization: null,
      ...head,
    };
  }

  async readBody(target: Uint8Array, options: CallBodyReadOptions): Promise<number> {
    this.readCount++;
    const writer = new LeaseBodyWriter(target, options.limitBytes);
    for (let i = 0; i < this.#body.length; i += 7) {
      await options.call.race(Promise.resolve());
      if (this.#failWith !== null) throw this.#failWith;
      writer.write(this.#body.subarray(i, i + 7));
    }
    return writer.lengthBytes;
  }

  clientSignal(): AbortSignal | null {
    return null;
  }
}

const json = (text: string) => new TextEncoder().encode(text);
const methodId = (app: RpcApp, name: string) => app.deps.registry.lookup(name);

Deno.test(
  "serveCall: a JSON echo answers from a lease that release() returns",
  withApp(async (app, pool) => {
    const input = new BytesInput(json('{"payload":"AQID"}'), { contentType: "application/json" });
    const answer = await serveCall(methodId(app, "system.echo"), input, app.deps);
    assert.equal(answer.status, 200);
    assert.equal(answer.contentType, "application/json");
    assert.equal(new TextDecoder().decode(answer.body), '{"payload":"AQID"}');
    assert.equal(pool.inUseCount(), 1, "the answer holds its block until released");
    answer.release();
    answer.release();
    assert.equal(pool.inUseCount(), 0);
  }),
);

Deno.test(
  "serveCall: a binary echo decodes in place and carries the requestId",
  withApp(async (app) => {
    const frame = requestFrame("system.echo", SystemEchoParamsCodec, {
      payload: new Uint8Array([9, 8, 7]),
    });
    const input = new BytesInput(frame, { contentType: "application/capnp" });
    const answer = await serveCall(methodId(app, "system.echo"), input, app.deps);
    try {
      assert.equal(answer.status, 200);
      assert.equal(answer.contentType, "application/capnp");
      assert.ok(answer.body.length > 0);
    } finally {
      answer.release();
    }
  }),
);

Deno.test(
  "serveCall: too large, bad media type and bad lengths are refused before the body",
  withApp(async (app) => {
    const id = methodId(app, "system.echo");
    const tooLarge = new BytesInput(json("{}"), {
      contentType: "application/json",
      contentLength: String(10 * 1024 * 1024),
    });
    const big = await serveCall(id, tooLarge, app.deps);
    assert.equal(big.status, 413);
    const badType = new BytesInput(json("{}"), { contentType: "text/plain" });
    assert.equal((await serveCall(id, badType, app.deps)).status, 415);
    const badLength = new BytesInput(json("{}"), {
      contentType: "application/json",
      contentLength: "12x",
    });
    assert.equal((await serveCall(id, badLength, app.deps)).status, 400);
    assert.equal(tooLarge.readCount + badType.readCount + badLength.readCount, 0);
  }),
);

Deno.test(
  "serveCall: an exhausted class answers 503 with Retry-After, a failed read is canceled",
  withApp(async (app, pool) => {
    const id = methodId(app, "system.echo");
    const held = [pool.tryAcquire(10)!, pool.tryAcquire(10)!];
    const input = new BytesInput(json("{}"), { contentType: "application/json" });
    const answer = await serveCall(id, input, app.deps);
    assert.equal(answer.status, 503);
    assert.equal(answer.retryAfterSeconds, 1);
    assert.equal(input.readCount, 0);
    for (const lease of held) lease.release();
    const lost = new BytesInput(json('{"payload":""}'), {
      contentType: "application/json",
    }, new Error("connection reset"));
    const canceled = await serveCall(id, lost, app.deps);
    assert.equal(canceled.status, 499);
    assert.match(new TextDecoder().decode(canceled.body), /connection reset/);
  }),
);

Deno.test(
  "unknownMethodAnswer: 501 in the request's wire, no block taken",
  withApp((app, pool) => {
    const before = pool.stats().classes.reduce((n, c) => n + c.allocTotal, 0);
    const capnp = unknownMethodAnswer("application/capnp", app.deps);
    const other = unknownMethodAnswer(null, app.deps);
    assert.equal(capnp.status, 501);
    assert.equal(capnp.contentType, "application/capnp");
    assert.equal(other.contentType, "application/json");
    assert.match(new TextDecoder().decode(other.body), /unimplemented/);
    capnp.release();
    assert.equal(pool.stats().classes.reduce((n, c) => n + c.allocTotal, 0), before);
    return Promise.resolve();
  }),
);

Deno.test("utf8LengthBytes matches TextEncoder, lone surrogates included", () => {
  for (const text of ["", "a", "héllo", "☃", "𝄞", "\ud800é", "\udc00x", "a\ud800"]) {
    assert.equal(utf8LengthBytes(text), new TextEncoder().encode(text).length, text);
  }
});

/** Resolves `slowEcho`'s pending handlers (set by the handler, called by the test). */
const slowEchoRelease: (() => void)[] = [];

/** An echo whose params view the request block and whose handler outlives a short deadline. */
const slowEcho = defineMethod({
  name: "test.slow_echo",
  mutating: false,
  requestBytesMax: () => 4096,
  params: SystemEchoParamsCodec,
  result: SystemEchoResultCodec,
  paramsDataViews: true,
  handle: (params) => new Promise((resolve) => slowEchoRelease.push(() => resolve(params))),
});

Deno.test(
  "serveCall: Data views keep the request block until a late handler settles",
  withApp(async (app, pool) => {
    const frame = requestFrame("test.slow_echo", SystemEchoParamsCodec, {
      payload: new Uint8Array([1, 2, 3]),
    });
    const input = new BytesInput(frame, { contentType: "application/capnp", rpcTimeoutMs: "20" });
    // The deadline timer is unref'd (it never keeps a process alive): this one keeps the test's.
    const keepAlive = setTimeout(() => {}, 10_000);
    const answer = await serveCall(methodId(app, "test.slow_echo"), input, app.deps);
    clearTimeout(keepAlive);
    assert.equal(answer.status, 504);
    assert.equal(pool.inUseCount(), 1, "the handler still views the request block");
    slowEchoRelease.pop()!();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(pool.inUseCount(), 0, "released once the handler settled");
  }, [slowEcho]),
);
