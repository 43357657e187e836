import assert from "@std/assert";
import { CapnpError, decodeMessage, measureMessage, writeMessage } from "./mod.ts";
import { SystemPoolParamsCodec } from "../schema/system_capnp.ts";

Deno.test("an empty struct round-trips as {} on both wires and refuses JSON keys", () => {
  const target = new Uint8Array(measureMessage(SystemPoolParamsCodec, {}));
  const written = writeMessage(SystemPoolParamsCodec, {}, target);
  assert.equal(written, target.length);
  assert.deepEqual(decodeMessage(SystemPoolParamsCodec, target), {});
  assert.deepEqual(SystemPoolParamsCodec.fromJson({}), {});
  assert.deepEqual(SystemPoolParamsCodec.toJson({}), {});
  assert.throws(() => SystemPoolParamsCodec.fromJson({ extra: 1 }), CapnpError);
  assert.throws(() => SystemPoolParamsCodec.fromJson([]), CapnpError);
});
