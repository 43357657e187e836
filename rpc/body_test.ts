import assert from "@std/assert";
import { LeaseBodyWriter, readBodyInto } from "./body.ts";
import { RpcError } from "../errors/rpc_error.ts";

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

Deno.test("readBodyInto copies every chunk in order into the target", async () => {
  const target = new Uint8Array(16);
  const n = await readBodyInto(
    streamOf([Uint8Array.of(1, 2), Uint8Array.of(3), new Uint8Array()]),
    target,
  );
  assert.equal(n, 3);
  assert.deepEqual([...target.subarray(0, 4)], [1, 2, 3, 0]);
});

Deno.test("readBodyInto stops at the limit with a 413 and cancels the stream", async () => {
  let cancelled = false;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(new Uint8Array(4));
    },
    cancel() {
      cancelled = true;
    },
  });
  const error = await readBodyInto(stream, new Uint8Array(64), { limitBytes: 10 }).catch((e) => e);
  assert.ok(error instanceof RpcError);
  assert.equal(error.httpStatus, 413);
  assert.equal(error.code, "resource_exhausted");
  assert.ok(cancelled);
  assert.ok(pulls <= 5, `pulled ${pulls} chunks`);
});

Deno.test("readBodyInto refuses a body shorter than its declared length", async () => {
  const error = await readBodyInto(streamOf([Uint8Array.of(1)]), new Uint8Array(8), {
    declaredBytes: 2,
  }).catch((e) => e);
  assert.ok(error instanceof RpcError);
  assert.equal(error.code, "invalid_argument");
});

Deno.test("LeaseBodyWriter refuses a limit larger than the target", () => {
  assert.throws(() => new LeaseBodyWriter(new Uint8Array(4), 5), RangeError);
  assert.throws(() => new LeaseBodyWriter(new Uint8Array(4), -1), RangeError);
  const w = new LeaseBodyWriter(new Uint8Array(4), 4);
  w.write(new Uint8Array(4));
  assert.throws(() => w.write(new Uint8Array(1)), RpcError);
  assert.equal(w.lengthBytes, 4);
});

Deno.test("readBodyInto rejects with the signal's reason when aborted mid-body", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(Uint8Array.of(1));
    },
    cancel() {
      cancelled = true;
    },
  });
  const controller = new AbortController();
  const pending = readBodyInto(stream, new Uint8Array(8), { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 5));
  controller.abort(new Error("gone"));
  const error = await pending.catch((e) => e);
  assert.equal(error.message, "gone");
  assert.ok(cancelled);
});
