import assert from "@std/assert";
import { ERROR_CODE, errorCodeName, H3_ERROR, H3Error, QPACK_ERROR } from "./errors.ts";

Deno.test("errors: codes match RFC 9114 §8.1 and RFC 9204 §6", () => {
  assert.equal(H3_ERROR.H3_NO_ERROR, 0x100);
  assert.equal(H3_ERROR.H3_VERSION_FALLBACK, 0x110);
  assert.equal(Object.keys(H3_ERROR).length, 17);
  assert.deepEqual(Object.values(QPACK_ERROR), [0x200, 0x201, 0x202]);
  assert.equal(new Set(Object.values(ERROR_CODE)).size, 20);
});

Deno.test("errors: H3Error carries code, name and scope", () => {
  const error = new H3Error("H3_MESSAGE_ERROR", "bad pseudo-header", { scope: "stream" });
  assert.ok(error instanceof Error);
  assert.equal(error.code, 0x10e);
  assert.equal(error.codeName, "H3_MESSAGE_ERROR");
  assert.equal(error.scope, "stream");
  assert.match(error.message, /^H3_MESSAGE_ERROR: bad pseudo-header$/);
  assert.equal(new H3Error("QPACK_DECOMPRESSION_FAILED", "x").scope, "connection");
  assert.equal(errorCodeName(0x201), "QPACK_ENCODER_STREAM_ERROR");
  assert.equal(errorCodeName(0x21), undefined);
});
