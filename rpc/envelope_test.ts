import assert from "@std/assert";
import { SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import { SystemEchoParamsCodec, SystemEchoResultCodec } from "../schema/system_capnp.ts";
import { WorknodeGetParamsCodec } from "../schema/worknode_capnp.ts";
import { CapnpError, frameByteLength } from "../capnp/mod.ts";
import { frame, structPtr } from "../capnp/_test_frames.ts";
import {
  measureRequest,
  measureResponse,
  methodNameOf,
  readParams,
  readRequest,
  readResponse,
  readResult,
  writeRequest,
  writeResponse,
} from "./envelope.ts";

function request<P>(
  methodName: string,
  codec: Parameters<typeof measureRequest<P>>[0]["codec"],
  params: P,
): Uint8Array {
  const out = new Uint8Array(measureRequest({ requestId: 77, methodName, codec, params }));
  writeRequest({ requestId: 77, methodName, codec, params }, out);
  return out;
}

Deno.test("readRequest gives the id, the method name's byte range and the params", () => {
  const bytes = request("system.echo", SystemEchoParamsCodec, { payload: new Uint8Array([1, 2]) });
  const lease = new Uint8Array(bytes.length + 100);
  lease.set(bytes, 40);
  const view = lease.subarray(40, 40 + bytes.length);
  const envelope = readRequest(view);
  assert.equal(envelope.requestId, 77);
  const name = view.subarray(
    envelope.methodNameOffset,
    envelope.methodNameOffset + envelope.methodNameLength,
  );
  assert.equal(new TextDecoder().decode(name), "system.echo");
  assert.equal(methodNameOf(envelope), "system.echo");
  assert.deepEqual(readParams(envelope, SystemEchoParamsCodec).payload, new Uint8Array([1, 2]));
});

Deno.test("an empty request has no method name and default params", () => {
  const envelope = readRequest(frame([[[0, 0]]]));
  assert.equal(envelope.methodNameLength, 0);
  assert.deepEqual(readParams(envelope, WorknodeGetParamsCodec), { id: "" });
  const noParams = readRequest(frame([[structPtr(0, 1, 0), [5, 0]]]));
  assert.equal(noParams.requestId, 5);
  assert.deepEqual(readParams(noParams, WorknodeGetParamsCodec), { id: "" });
});

Deno.test("params are decoded under the request's limits", () => {
  const properties = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: "v" }));
  const bytes = request("sheaf.overlap", SheafOverlapMessageCodec, { a: "a", b: "b", properties });
  const envelope = readRequest(bytes, { listLengthMax: 29 });
  assert.throws(
    () => readParams(envelope, SheafOverlapMessageCodec),
    (e: unknown) => e instanceof CapnpError && e.code === "too_large",
  );
});

Deno.test("responses carry a result or an error, measured exactly", () => {
  const result = { payload: new Uint8Array([9, 8, 7]) };
  const ok = { requestId: 3, codec: SystemEchoResultCodec, result };
  const out = new Uint8Array(measureResponse(ok));
  assert.equal(writeResponse(ok, out), out.length);
  const okBack = readResponse(out);
  assert.equal(okBack.requestId, 3);
  assert.equal(okBack.error, null);
  assert.deepEqual(readResult(okBack, SystemEchoResultCodec), result);

  const error = {
    code: "not_found",
    message: "Cannot get worknode: id w-1 does not exist",
    details: "{}",
  };
  const failed = { requestId: 4, error };
  const errOut = new Uint8Array(measureResponse(failed));
  assert.equal(writeResponse(failed, errOut), errOut.length);
  const errBack = readResponse(errOut);
  assert.deepEqual(errBack.error, error);
  assert.throws(() => readResult(errBack, SystemEchoResultCodec), TypeError);
  assert.throws(
    () => writeResponse(failed, new Uint8Array(errOut.length - 1)),
    (e: unknown) => e instanceof CapnpError && e.code === "target_too_small",
  );
});

Deno.test("a batch splits into frames with frameByteLength", () => {
  const first = request("worknode.get", WorknodeGetParamsCodec, { id: "w-1" });
  const second = request("system.echo", SystemEchoParamsCodec, { payload: new Uint8Array(20) });
  const batch = new Uint8Array(first.length + second.length);
  batch.set(first);
  batch.set(second, first.length);
  assert.equal(frameByteLength(batch, 0), first.length);
  assert.equal(frameByteLength(batch, first.length), second.length);
  const envelope = readRequest(batch.subarray(first.length));
  assert.equal(methodNameOf(envelope), "system.echo");
  assert.throws(() => frameByteLength(batch, batch.length - 4), CapnpError);
});

Deno.test("listLengthMax bounds element counts, not Text or Data bytes", () => {
  const payload = new Uint8Array(10_000).fill(7);
  const echo = readRequest(request("system.echo", SystemEchoParamsCodec, { payload }), {
    listLengthMax: 100,
  });
  assert.deepEqual(readParams(echo, SystemEchoParamsCodec).payload, payload);
  const properties = Array.from({ length: 3 }, () => ({ key: "k", value: "v".repeat(5000) }));
  const overlap = request("sheaf.overlap", SheafOverlapMessageCodec, {
    a: "a",
    b: "b",
    properties,
  });
  assert.equal(
    readParams(readRequest(overlap, { listLengthMax: 3 }), SheafOverlapMessageCodec).properties
      .length,
    3,
  );
  assert.throws(
    () => readParams(readRequest(overlap, { listLengthMax: 2 }), SheafOverlapMessageCodec),
    (e: unknown) =>
      e instanceof CapnpError && e.code === "too_large" && /length 3 exceeds 2/.test(e.message),
  );
});

Deno.test("readParams tightens listLengthMax for one decode only, never loosens it", () => {
  const properties = Array.from({ length: 3 }, (_, i) => ({ key: `k${i}`, value: "v" }));
  const bytes = request("sheaf.overlap", SheafOverlapMessageCodec, { a: "a", b: "b", properties });
  const envelope = readRequest(bytes);
  assert.throws(
    () => readParams(envelope, SheafOverlapMessageCodec, { listLengthMax: 2 }),
    (e: unknown) =>
      e instanceof CapnpError && e.code === "too_large" && /length 3 exceeds 2/.test(e.message),
  );
  // The message's own limit is back after the refused decode.
  assert.equal(readParams(envelope, SheafOverlapMessageCodec).properties.length, 3);
  assert.equal(
    readParams(readRequest(bytes), SheafOverlapMessageCodec, { listLengthMax: 3 }).properties
      .length,
    3,
  );
  // A larger per-call limit does not lift the message's limit.
  assert.throws(
    () =>
      readParams(readRequest(bytes, { listLengthMax: 2 }), SheafOverlapMessageCodec, {
        listLengthMax: 100,
      }),
    (e: unknown) => e instanceof CapnpError && /length 3 exceeds 2/.test(e.message),
  );
  assert.throws(
    () => readParams(readRequest(bytes), SheafOverlapMessageCodec, { listLengthMax: -1 }),
    RangeError,
  );
});

Deno.test("readParams copies Data by default and views the message with dataViews", () => {
  const bytes = request("system.echo", SystemEchoParamsCodec, { payload: new Uint8Array([5, 6]) });
  const copied = readParams(readRequest(bytes), SystemEchoParamsCodec);
  const viewed = readParams(readRequest(bytes), SystemEchoParamsCodec, { dataViews: true });
  assert.deepEqual([...copied.payload], [5, 6]);
  assert.deepEqual([...viewed.payload], [5, 6]);
  assert.notEqual(copied.payload.buffer, bytes.buffer);
  assert.equal(viewed.payload.buffer, bytes.buffer, "a view of the request bytes");
  // The flag holds for one decode only: the next plain decode copies again.
  const envelope = readRequest(bytes);
  readParams(envelope, SystemEchoParamsCodec, { dataViews: true });
  assert.notEqual(readParams(envelope, SystemEchoParamsCodec).payload.buffer, bytes.buffer);
});
