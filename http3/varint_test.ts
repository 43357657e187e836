import assert from "@std/assert";
import {
  encodeVarint,
  encodeVarintBigInt,
  readVarint,
  readVarintBigInt,
  varintLength,
  varintValueAt,
  writeVarint,
} from "./varint.ts";

// RFC 9000 Appendix A.1 sample encodings.
const RFC_SAMPLES: Array<[number[], bigint]> = [
  [[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 151288809941952652n],
  [[0x9d, 0x7f, 0x3e, 0x7d], 494878333n],
  [[0x7b, 0xbd], 15293n],
  [[0x25], 37n],
  [[0x40, 0x25], 37n],
];

Deno.test("varint: decodes the RFC 9000 samples", () => {
  for (const [bytes, value] of RFC_SAMPLES) {
    const exact = readVarintBigInt(new Uint8Array(bytes), 0);
    assert.deepEqual(exact, { value, lengthBytes: bytes.length });
    const read = readVarint(new Uint8Array(bytes), 0);
    assert.equal(read?.lengthBytes, bytes.length);
    assert.equal(read?.value, Number(value));
    // The allocation-free form reads the same value at an offset.
    const shifted = new Uint8Array([0xff, ...bytes]);
    assert.equal(varintValueAt(shifted, 1, 1 + bytes.length), Number(value));
  }
});

Deno.test("varint: a large 8-byte value reads above MAX_SAFE_INTEGER, never below", () => {
  const bytes = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const read = readVarint(bytes, 0);
  assert.ok(read !== undefined && read.value > Number.MAX_SAFE_INTEGER);
  assert.equal(readVarintBigInt(bytes, 0)?.value, (1n << 62n) - 1n);
});

Deno.test("varint: every truncated prefix means need more bytes", () => {
  for (const [bytes] of RFC_SAMPLES) {
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.equal(readVarint(new Uint8Array(bytes.slice(0, cut)), 0), undefined);
      assert.equal(readVarintBigInt(new Uint8Array(bytes.slice(0, cut)), 0), undefined);
    }
  }
});

Deno.test("varint: encode is minimal and round-trips at every length boundary", () => {
  const cases: Array<[number, number]> = [
    [0, 1],
    [63, 1],
    [64, 2],
    [16383, 2],
    [16384, 4],
    [2 ** 30 - 1, 4],
    [2 ** 30, 8],
    [Number.MAX_SAFE_INTEGER, 8],
  ];
  for (const [value, lengthBytes] of cases) {
    const bytes = encodeVarint(value);
    assert.equal(bytes.length, lengthBytes, `length of ${value}`);
    assert.equal(varintLength(value), lengthBytes);
    assert.deepEqual(readVarint(bytes, 0), { value, lengthBytes });
  }
  assert.deepEqual(encodeVarintBigInt(151288809941952652n), new Uint8Array(RFC_SAMPLES[0][0]));
  assert.deepEqual(encodeVarintBigInt(37n), new Uint8Array([0x25]));
});

Deno.test("varint: refuses values it cannot encode, and short buffers", () => {
  assert.throws(() => encodeVarint(-1), RangeError);
  assert.throws(() => encodeVarint(1.5), RangeError);
  assert.throws(() => encodeVarint(2 ** 53), RangeError);
  assert.throws(() => encodeVarintBigInt(1n << 62n), RangeError);
  assert.throws(() => writeVarint(new Uint8Array(1), 0, 64), /needs 2 bytes/);
});

Deno.test("varint: reads at an offset", () => {
  const bytes = new Uint8Array([0xaa, 0x7b, 0xbd]);
  assert.deepEqual(readVarint(bytes, 1), { value: 15293, lengthBytes: 2 });
  assert.equal(readVarint(bytes, 3), undefined);
});
