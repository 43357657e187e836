import assert from "@std/assert";
import { parseByteSize } from "./byte_size.ts";

Deno.test("parseByteSize accepts plain bytes and binary units", () => {
  assert.equal(parseByteSize("67108864"), 67108864);
  assert.equal(parseByteSize("64MiB"), 64 * 1024 * 1024);
  assert.equal(parseByteSize("1GiB"), 1024 ** 3);
  assert.equal(parseByteSize("512KiB"), 512 * 1024);
  assert.equal(parseByteSize("2TiB"), 2 * 1024 ** 4);
  assert.equal(parseByteSize("4096B"), 4096);
  assert.equal(parseByteSize(" 8 MiB "), 8 * 1024 * 1024);
});

Deno.test("parseByteSize refuses decimal units, signs, fractions and garbage", () => {
  for (const text of ["64MB", "1G", "-1", "1.5GiB", "", "MiB", "64mib", "0x10", "1e9"]) {
    assert.throws(() => parseByteSize(text), RangeError, text);
  }
  assert.throws(() => parseByteSize("9999999999999999TiB"), /too large/);
});
