import assert from "@std/assert";
import { H2_LIMITS_DEFAULT, h2ConnectionMemoryBoundBytes, h2Limits } from "./limits.ts";

Deno.test("limits: defaults, overrides checked, the memory bound", () => {
  assert.equal(h2Limits().maxConcurrentStreams, 100);
  assert.equal(h2Limits({ idleTimeoutMs: 5 }).idleTimeoutMs, 5);
  assert.throws(() => h2Limits({ idleTimeoutMs: 0 }), RangeError);
  assert.throws(() => h2Limits({ maxFrameSizeBytes: 1000 }), RangeError);
  assert.throws(() => h2Limits({ readBufferBytes: 16000 }), RangeError);
  assert.throws(() => h2Limits({ initialWindowBytes: 2 ** 31 }), RangeError);
  const bound = h2ConnectionMemoryBoundBytes(H2_LIMITS_DEFAULT);
  assert.equal(bound, 752_640);
  assert.ok(h2ConnectionMemoryBoundBytes(h2Limits({ heldHeadBytesMax: 1 << 20 })) > bound);
});
