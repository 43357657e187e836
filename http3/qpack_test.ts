import assert from "@std/assert";
import { h3ErrorCode } from "./_test_errors.ts";
import { prng } from "../capnp/_test_frames.ts";
import {
  ByteWriter,
  decodeFieldSection,
  encodeFieldSection,
  encodeFieldSectionPrefix,
  FieldSectionTooLargeError,
  readFieldSectionPrefix,
  readPrefixInt,
} from "./qpack.ts";

const text = new TextEncoder();

const REQUEST: Array<[string, string]> = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "localhost:8443"],
  [":path", "/rpc/system.echo"],
  ["content-type", "application/capnp"],
  ["user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"],
  ["x-trace-id", "0af7651916cd43dd8448eb211c80319c"],
  ["x-bytes", "caf\u00e9\u00ff\u0000"],
  ["rpc-timeout-ms", "1500"],
  ["", ""],
];

Deno.test("qpack: prefixed integers follow RFC 7541 C.1", () => {
  assert.deepEqual(readPrefixInt(new Uint8Array([0x0a]), 0, 5), { value: 10, next: 1 });
  assert.deepEqual(readPrefixInt(new Uint8Array([0x1f, 0x9a, 0x0a]), 0, 5), {
    value: 1337,
    next: 3,
  });
  assert.deepEqual(readPrefixInt(new Uint8Array([0x2a]), 0, 8), { value: 42, next: 1 });
  assert.equal(readPrefixInt(new Uint8Array([0x1f, 0x9a]), 0, 5), undefined);
  const huge = new Uint8Array([0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.equal(readPrefixInt(huge, 0, 5)?.value, Infinity);
  const writer = new ByteWriter();
  writer.prefixInt(0xe0, 5, 1337);
  assert.deepEqual(writer.bytes, new Uint8Array([0xff, 0x9a, 0x0a]));
  const large = new ByteWriter();
  large.prefixInt(0x80, 7, 2 ** 40 + 5);
  assert.equal(readPrefixInt(large.bytes, 0, 7)?.value, Infinity); // decoding caps at 2^32-1
  assert.throws(() => large.prefixInt(0, 7, -1), RangeError);
});

Deno.test("qpack: RFC 9204 B.1 literal with static name reference", () => {
  const bytes = new Uint8Array([0x00, 0x00, 0x51, 0x0b, ...text.encode("/index.html")]);
  assert.deepEqual(decodeFieldSection(bytes), {
    fields: [[":path", "/index.html"]],
    requiredInsertCount: 0,
  });
});

Deno.test("qpack: encode then decode round-trips static, name-reference and literal lines", () => {
  const bytes = encodeFieldSection(REQUEST);
  assert.deepEqual(decodeFieldSection(bytes).fields, REQUEST);
  // :method POST and :scheme https are single indexed bytes after the 2-byte prefix.
  assert.deepEqual(bytes.subarray(0, 4), new Uint8Array([0, 0, 0xc0 | 20, 0xc0 | 23]));
  assert.deepEqual(encodeFieldSection([[":status", "200"]]), new Uint8Array([0, 0, 0xd9]));
  assert.throws(() => encodeFieldSection([["x", "\u0100"]]), TypeError);
});

Deno.test("qpack: the N bit and raw (non-Huffman) literal names decode", () => {
  // Literal with literal name, N=1, H=0, name "ab"; value raw "c".
  const bytes = new Uint8Array([0, 0, 0x32, 0x61, 0x62, 0x01, 0x63]);
  assert.deepEqual(decodeFieldSection(bytes).fields, [["ab", "c"]]);
  // Literal with static name reference, N=1: 0x70 | index 4 (content-length), value "7".
  assert.deepEqual(
    decodeFieldSection(new Uint8Array([0, 0, 0x74, 0x01, 0x37])).fields,
    [["content-length", "7"]],
  );
});

Deno.test("qpack: malformed sections are QPACK_DECOMPRESSION_FAILED", () => {
  const cases: Array<[number[], string]> = [
    [[], "empty"],
    [[0x00], "no delta base"],
    [[0x01, 0x00], "dynamic reference with capacity 0"],
    [[0x00, 0x80], "negative base"],
    [[0x00, 0x00, 0xc0 | 63, 0x24], "static index 99"],
    [[0x00, 0x00, 0x80], "dynamic indexed line without table"],
    [[0x00, 0x00, 0x10], "post-base line without table"],
    [[0x00, 0x00, 0x00, 0x01, 0x61], "post-base name ref without table"],
    [[0x00, 0x00, 0x51, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff], "Huffman EOS in value"],
    [[0x00, 0x00, 0x51, 0x05, 0x61], "value shorter than its length"],
  ];
  for (const [bytes, label] of cases) {
    assert.equal(
      h3ErrorCode(() => decodeFieldSection(new Uint8Array(bytes))),
      "QPACK_DECOMPRESSION_FAILED",
      label,
    );
  }
});

Deno.test("qpack: every truncated prefix of an encoded section fails typed", () => {
  const bytes = encodeFieldSection(REQUEST);
  const lineEnds = new Set<number>();
  // Find where each line ends by encoding growing prefixes of the field list.
  for (let count = 0; count <= REQUEST.length; count++) {
    lineEnds.add(encodeFieldSection(REQUEST.slice(0, count)).length);
  }
  for (let cut = 0; cut < bytes.length; cut++) {
    const code = h3ErrorCode(() => decodeFieldSection(bytes.subarray(0, cut)));
    assert.equal(code, lineEnds.has(cut) ? undefined : "QPACK_DECOMPRESSION_FAILED", `cut ${cut}`);
  }
});

Deno.test("qpack: the size limit is enforced while decoding", () => {
  const fields: Array<[string, string]> = [["a", "x".repeat(100)], ["b", "y".repeat(100)]];
  const bytes = encodeFieldSection(fields);
  // 2 lines of 1 + 100 + 32 = 133 bytes each: 266 in all.
  assert.equal(decodeFieldSection(bytes, { fieldSectionBytesMax: 266 }).fields.length, 2);
  assert.throws(
    () => decodeFieldSection(bytes, { fieldSectionBytesMax: 265 }),
    FieldSectionTooLargeError,
  );
  // A single huge literal is refused as soon as its length is known to exceed what is left.
  const big = encodeFieldSection([["a", "z".repeat(10000)]]);
  const error: unknown = (() => {
    try {
      decodeFieldSection(big, { fieldSectionBytesMax: 1000 });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof FieldSectionTooLargeError && error.scope === "stream");
  // Many tiny lines: the 32-byte overhead counts.
  const many = encodeFieldSection(Array.from({ length: 100 }, () => [":method", "GET"]));
  assert.throws(
    () => decodeFieldSection(many, { fieldSectionBytesMax: 1000 }),
    FieldSectionTooLargeError,
  );
});

Deno.test("qpack: Required Insert Count encoding round-trips across wraps (§4.5.1.1)", () => {
  const maxTableCapacity = 4096; // MaxEntries 128, FullRange 256
  for (const totalInsertCount of [1, 127, 128, 255, 256, 257, 1000, 5000]) {
    for (const lag of [0, 1, 50, 127]) {
      const requiredInsertCount = totalInsertCount - lag;
      if (requiredInsertCount <= 0) continue;
      const prefix = encodeFieldSectionPrefix({
        requiredInsertCount,
        base: requiredInsertCount,
        maxTableCapacity,
      });
      const read = readFieldSectionPrefix(prefix, { maxTableCapacity, totalInsertCount });
      assert.equal(read.requiredInsertCount, requiredInsertCount);
      assert.equal(read.base, requiredInsertCount);
    }
  }
  // Base below Required Insert Count uses the sign bit.
  const prefix = encodeFieldSectionPrefix({ requiredInsertCount: 5, base: 2, maxTableCapacity });
  assert.deepEqual(readFieldSectionPrefix(prefix, { maxTableCapacity, totalInsertCount: 5 }), {
    requiredInsertCount: 5,
    base: 2,
    next: 2,
  });
  // Encoded value above FullRange.
  assert.equal(
    h3ErrorCode(() =>
      readFieldSectionPrefix(new Uint8Array([0xff, 0x02, 0x00]), {
        maxTableCapacity,
        totalInsertCount: 0,
      })
    ),
    "QPACK_DECOMPRESSION_FAILED",
  );
});

Deno.test("qpack: random bytes decode or fail with a typed error only", () => {
  const random = prng(0xc0ffee);
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 48)).map(() => Math.floor(random() * 256));
    if (bytes.length >= 2 && random() < 0.7) bytes[0] = bytes[1] = 0; // a valid prefix
    if (
      h3ErrorCode(() => decodeFieldSection(bytes, { fieldSectionBytesMax: 4096 })) !== undefined
    ) {
      failures++;
    }
  }
  assert.ok(failures > 500, `failures ${failures}`);
});
