import assert from "@std/assert";
import { H2_ERROR, H2Error, h2ErrorCodeName, isH2ErrorCodeName, streamError } from "./errors.ts";

Deno.test("errors: codes as data, names back, stream errors need a stream", () => {
  assert.equal(H2_ERROR.ENHANCE_YOUR_CALM, 0xb);
  assert.equal(h2ErrorCodeName(0xd), "HTTP_1_1_REQUIRED");
  assert.equal(h2ErrorCodeName(0xe), undefined);
  assert.equal(isH2ErrorCodeName("CANCEL"), true);
  assert.equal(isH2ErrorCodeName("toString"), false);
  const error = streamError("STREAM_CLOSED", 3, "late");
  assert.deepEqual([error.code, error.scope, error.streamId, error.message], [
    5,
    "stream",
    3,
    "STREAM_CLOSED: late",
  ]);
  assert.equal(new H2Error("PROTOCOL_ERROR", "x").scope, "connection");
  assert.throws(() => new H2Error("CANCEL", "x", { scope: "stream" }), RangeError);
});
