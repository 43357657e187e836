import assert from "@std/assert";
import { BUFFER_BYTES_MIN, H1_LIMITS_DEFAULT, h1Limits } from "./limits.ts";

Deno.test("limits: defaults, overrides, and refused values", () => {
  assert.deepEqual(h1Limits(), H1_LIMITS_DEFAULT);
  assert.equal(h1Limits({ idleTimeoutMs: 5 }).idleTimeoutMs, 5);
  assert.throws(() => h1Limits({ headTimeoutMs: 0 }), RangeError);
  assert.throws(() => h1Limits({ writeTimeoutMs: 1.5 }), RangeError);
  assert.throws(() => h1Limits({ connectionCountMax: -1 }), RangeError);
  assert.throws(() => h1Limits({ readBufferBytes: BUFFER_BYTES_MIN - 1 }), /readBufferBytes/);
  assert.ok(Object.isFrozen(h1Limits({ idleTimeoutMs: 5 })));
});
