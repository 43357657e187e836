import assert from "@std/assert";
import zlib from "node:zlib";
import { compressInto, gunzipInto, INFLATE_OVERFLOW, NO_GAIN } from "./zlib_engine.ts";

const text = new TextEncoder().encode(
  JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }))),
);

Deno.test("zlib engine: zstd and gzip code into the given buffer, or say there is no gain", () => {
  for (const coding of ["zstd", "gzip"] as const) {
    for (let round = 0; round < 3; round++) {
      const out = new Uint8Array(text.length - 1);
      const n = compressInto(coding, text, out);
      assert.ok(n > 0 && n < text.length / 4, `${coding} ${n}`);
      const back = coding === "gzip"
        ? zlib.gunzipSync(out.subarray(0, n))
        : zlib.zstdDecompressSync(out.subarray(0, n));
      assert.deepEqual(new Uint8Array(back), text);
    }
    assert.equal(compressInto(coding, text, new Uint8Array(100)), NO_GAIN, "no room");
    const random = crypto.getRandomValues(new Uint8Array(4096));
    assert.equal(compressInto(coding, random, new Uint8Array(4095)), NO_GAIN, "incompressible");
  }
});

Deno.test("zlib engine: gunzip stops where the output ends; malformed streams throw", () => {
  const gz = zlib.gzipSync(text);
  const out = new Uint8Array(text.length + 10);
  assert.equal(gunzipInto(gz, out), text.length);
  assert.deepEqual(out.subarray(0, text.length), text);
  assert.equal(gunzipInto(gz, new Uint8Array(text.length)), text.length, "exactly full");
  assert.equal(gunzipInto(gz, new Uint8Array(text.length - 1)), INFLATE_OVERFLOW);
  // A bomb: 256 MiB of zeros from ~256 KB, into a 64 KiB buffer: stops there.
  const bomb = zlib.gzipSync(new Uint8Array(256 << 20));
  const small = new Uint8Array(65536);
  const t0 = performance.now();
  assert.equal(gunzipInto(bomb, small), INFLATE_OVERFLOW);
  assert.ok(performance.now() - t0 < 1000, "nothing like 256 MiB was inflated");
  assert.throws(() => gunzipInto(gz.subarray(0, gz.length - 3), out), RangeError);
  const corrupt = Uint8Array.from(gz);
  corrupt[gz.length >> 1] ^= 0xff;
  assert.throws(() => gunzipInto(corrupt, out), RangeError);
  const trailing = new Uint8Array(gz.length + 2);
  trailing.set(gz);
  assert.throws(() => gunzipInto(trailing, out), RangeError);
  // The engine is reset after a failure: the next stream inflates.
  assert.equal(gunzipInto(gz, out), text.length);
  const empty = zlib.gzipSync(new Uint8Array(0));
  assert.equal(gunzipInto(empty, new Uint8Array(0)), 0);
});
