import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import { LeaseBody, LENGTH_NONE } from "./body_sink.ts";
import type { LeaseLike } from "./method.ts";

function lease(sizeBytes: number): LeaseLike {
  return { bytes: new Uint8Array(sizeBytes), release() {} };
}

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("body sink: chunks land in order; a declared body completes at its length", () => {
  const body = new LeaseBody(lease(16), { limitBytes: 16, declaredBytes: 5, what: "m" });
  assert.equal(body.wantBytes, 5);
  assert.equal(body.push(bytes(1, 2)), null);
  assert.equal(body.push(bytes(3, 4, 5)), null);
  assert.equal(body.complete, true);
  assert.equal(body.finish(), null);
  assert.deepEqual([...body.bytes()], [1, 2, 3, 4, 5]);
});

Deno.test("body sink: over the declared length or short of it is 400; over the limit 413", () => {
  const declared = new LeaseBody(lease(16), { limitBytes: 16, declaredBytes: 3, what: "m" });
  const over = declared.push(bytes(1, 2, 3, 4));
  assert.ok(over instanceof RpcError);
  assert.equal(over?.httpStatus, 400);
  assert.match(over!.message, /got 4 bytes, Content-Length said 3/);
  const short = new LeaseBody(lease(16), { limitBytes: 16, declaredBytes: 3, what: "m" });
  short.push(bytes(1));
  assert.equal(short.finish()?.httpStatus, 400);
  const open = new LeaseBody(lease(8), { limitBytes: 4, declaredBytes: LENGTH_NONE, what: "m" });
  assert.equal(open.push(bytes(1, 2, 3)), null);
  const tooLarge = open.push(bytes(4, 5));
  assert.equal(tooLarge?.httpStatus, 413);
  assert.equal(tooLarge?.code, "resource_exhausted");
  assert.equal(tooLarge?.retryAfterSeconds, null);
});

Deno.test("body sink: room() and commit() read straight into the lease", () => {
  const body = new LeaseBody(lease(8), { limitBytes: 8, declaredBytes: 6, what: "m" });
  body.push(bytes(9));
  const room = body.room();
  assert.equal(room.length, 5);
  room.set([8, 7, 6, 5, 4]);
  assert.equal(body.commit(5), null);
  assert.deepEqual([...body.bytes()], [9, 8, 7, 6, 5, 4]);
  assert.throws(() => body.commit(1), RangeError);
});

Deno.test("body sink: a limit beyond the lease is refused at once", () => {
  assert.throws(
    () => new LeaseBody(lease(4), { limitBytes: 8, declaredBytes: LENGTH_NONE, what: "m" }),
    /exceeds the lease's 4 bytes/,
  );
  assert.throws(
    () => new LeaseBody(null, { limitBytes: -1, declaredBytes: 0, what: "m" }),
    RangeError,
  );
  const empty = new LeaseBody(null, { limitBytes: 100, declaredBytes: 0, what: "m" });
  assert.equal(empty.finish(), null);
  assert.equal(empty.bytes().length, 0);
});
