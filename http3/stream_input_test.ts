import assert from "@std/assert";
import { H3Error } from "./errors.ts";
import { encodeDataFrame, encodeHeadersFrame } from "./frame.ts";
import { Clock } from "../clock/mod.ts";
import { StallWatch, StreamInput } from "./stream_input.ts";

/** A byte stream (like a QUIC receive stream) that yields `chunks`, then ends or hangs. */
function byteStream(chunks: Uint8Array[], end: boolean): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (index < chunks.length) {
        controller.enqueue(chunks[index++].slice());
      } else if (end) {
        controller.close();
        controller.byobRequest?.respond(0);
      }
      // Otherwise never answer: a stalled peer.
    },
  });
}

const HEADERS = encodeHeadersFrame(new Uint8Array([0x00, 0x00, 0xd1]));

Deno.test("StreamInput hands out frames across chunk boundaries, then null at FIN", async () => {
  const bytes = new Uint8Array([...HEADERS, ...encodeDataFrame(new Uint8Array([1, 2, 3]))]);
  for (const split of [1, 2, 3, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += split) chunks.push(bytes.subarray(i, i + split));
    for (const readable of [byteStream(chunks, true), ReadableStream.from(chunks)]) {
      const input = new StreamInput(readable, {
        streamKind: "request",
        role: "server",
        stallWatch: null,
      });
      const first = await input.nextFrame();
      assert.equal(first?.type, "headers");
      let data = 0;
      for (let frame = await input.nextFrame(); frame !== null; frame = await input.nextFrame()) {
        if (frame.type === "data") data += frame.bytes.length;
      }
      assert.equal(data, 3);
      assert.ok(input.ended);
    }
  }
});

Deno.test("StreamInput: a FIN inside a frame is H3_REQUEST_INCOMPLETE", async () => {
  const input = new StreamInput(byteStream([HEADERS.subarray(0, 3)], true), {
    streamKind: "request",
    role: "server",
    stallWatch: null,
  });
  await assert.rejects(
    () => input.nextFrame(),
    (error: unknown) => error instanceof H3Error && error.codeName === "H3_REQUEST_INCOMPLETE",
  );
});

Deno.test("StreamInput: a peer that stalls is H3_REQUEST_INCOMPLETE after the timeout", async () => {
  const clock = new Clock();
  const watch = new StallWatch(50, clock);
  // An in-memory stream holds no op open, and the clock never keeps the process alive itself (a
  // socket read does, in the server): this timer stands in for that read.
  const keepAlive = setTimeout(() => {}, 5000);
  try {
    const input = new StreamInput(byteStream([HEADERS], false), {
      streamKind: "request",
      role: "server",
      stallWatch: watch,
    });
    assert.equal((await input.nextFrame())?.type, "headers");
    await assert.rejects(
      () => input.nextFrame(),
      (error: unknown) =>
        error instanceof H3Error && error.codeName === "H3_REQUEST_INCOMPLETE" &&
        error.scope === "stream",
    );
  } finally {
    clearTimeout(keepAlive);
    clock.close();
  }
});

Deno.test("StallWatch validates its timeout; within rejects late promises", async () => {
  const clock = new Clock();
  try {
    assert.throws(() => new StallWatch(0, clock), RangeError);
    const watch = new StallWatch(10, clock);
    assert.equal(await watch.within(Promise.resolve(7), () => new Error("late")), 7);
    await assert.rejects(
      () => watch.within(new Promise(() => {}), () => new Error("late")),
      /late/,
    );
  } finally {
    clock.close();
  }
});

Deno.test("StreamInput lends its read buffer until recycle(), which hands it to the next read", async () => {
  const payload = new Uint8Array([7, 8, 9]);
  const bytes = new Uint8Array([...HEADERS, ...encodeDataFrame(payload)]);
  const options = { streamKind: "request", role: "server", stallWatch: null } as const;
  const lending = new StreamInput(byteStream([bytes], false), { ...options, lendScratch: true });
  assert.equal((await lending.nextFrame())?.type, "headers");
  const data = lending.bufferedFrame();
  if (data?.type !== "data") throw new Error(`expected DATA, got ${data?.type}`);
  // A view of the 4 KiB read buffer, not a copy.
  assert.equal(data.bytes.buffer.byteLength, 4096);
  assert.deepEqual([...data.bytes], [...payload]);
  assert.ok(lending.recycle());
  assert.equal(lending.bufferedFrame(), undefined);
  assert.equal(await lending.nextFrame(), null);
  lending.cancel();
  // The next read takes the recycled buffer: the old view's memory moves to it (detached here).
  const next = new StreamInput(byteStream([bytes], true), options);
  assert.equal((await next.nextFrame())?.type, "headers");
  assert.equal(data.bytes.length, 0);
  const copied = next.bufferedFrame();
  if (copied?.type !== "data") throw new Error(`expected DATA, got ${copied?.type}`);
  // Without lending, a small read is an exact-size copy.
  assert.equal(copied.bytes.buffer.byteLength, bytes.length);
  next.cancel();
});

Deno.test("StreamInput.ownBytes() copies the unread bytes and stops lending", async () => {
  const payload = new Uint8Array([1, 2, 3, 4]);
  const bytes = new Uint8Array([...HEADERS, ...encodeDataFrame(payload)]);
  const input = new StreamInput(byteStream([bytes], true), {
    streamKind: "request",
    role: "server",
    stallWatch: null,
    lendScratch: true,
  });
  assert.equal((await input.nextFrame())?.type, "headers");
  input.ownBytes();
  const data = input.bufferedFrame();
  if (data?.type !== "data") throw new Error(`expected DATA, got ${data?.type}`);
  assert.equal(data.bytes.buffer.byteLength, 2 + payload.length);
  assert.deepEqual([...data.bytes], [...payload]);
  assert.equal(await input.nextFrame(), null);
  assert.ok(input.ended);
});
