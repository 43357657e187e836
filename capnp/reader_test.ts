import assert from "@std/assert";
import { HolderCodec, NestCodec } from "./testdata/nest_capnp.ts";
import { PropertyCodec, WorknodeCodec } from "../schema/worknode_capnp.ts";
import { SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import {
  CapnpError,
  type CapnpErrorCode,
  decodeMessage,
  frameByteLength,
  measureMessage,
  type ReadLimits,
  readMessage,
  type StructCodec,
  writeMessage,
} from "./mod.ts";
import { bytesWord, farPtr, frame, listPtr, prng, structPtr, type Word } from "./_test_frames.ts";

function refuses<T>(
  codec: StructCodec<T>,
  bytes: Uint8Array,
  code: CapnpErrorCode,
  limits?: ReadLimits,
): CapnpError {
  let caught: unknown;
  try {
    decodeMessage(codec, bytes, limits);
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof CapnpError)) {
    throw new assert.AssertionError({ message: `expected CapnpError ${code}, got ${caught}` });
  }
  assert.equal(caught.code, code, caught.message);
  return caught;
}

function encode<T>(codec: StructCodec<T>, value: T): Uint8Array {
  const out = new Uint8Array(measureMessage(codec, value));
  assert.equal(writeMessage(codec, value, out), out.length);
  return out;
}

const overlap = {
  a: "wn-a",
  b: "wn-b",
  properties: [{ key: "color", value: "red" }, { key: "size", value: "large é" }],
};

Deno.test("a segment-count bomb is refused from the first word, before any table read", () => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(0, 100_000_000 - 1, true);
  const error = refuses(PropertyCodec, bytes, "too_large");
  assert.equal(error.message, "Cannot read message: segment count 100000000 exceeds 64");
  assert.throws(() => frameByteLength(bytes, 0), CapnpError);
});

Deno.test("a 2^27-element list of zero-sized structs in a 56-byte message allocates nothing", () => {
  const segment: Word[] = [structPtr(0, 0, 1), listPtr(0, 7, 0), [(1 << 27) << 2, 0]];
  while (segment.length < 6) segment.push([0, 0]);
  const bytes = frame([segment]);
  assert.equal(bytes.length, 56);
  const before = Deno.memoryUsage().heapUsed;
  refuses(HolderCodec, bytes, "too_large");
  refuses(HolderCodec, bytes, "traversal_exceeded", { listLengthMax: 2 ** 30 });
  refuses(HolderCodec, bytes, "traversal_exceeded", {
    listLengthMax: 2 ** 30,
    traversalWordsMax: 2 ** 40,
  });
  assert.ok(Deno.memoryUsage().heapUsed - before < 32 * 1024 * 1024);
});

Deno.test("a list longer than the bytes that exist is refused (no element is read)", () => {
  // A composite list claiming 1000 words in a 4-word segment.
  refuses(
    HolderCodec,
    frame([[structPtr(0, 0, 1), listPtr(0, 7, 1000), [4 << 2, 0]]]),
    "bad_pointer",
  );
  // A tag whose elements exceed the list's word count.
  refuses(
    HolderCodec,
    frame([[structPtr(0, 0, 1), listPtr(0, 7, 1), [2 << 2, 1], [0, 0]]]),
    "bad_pointer",
  );
  // A text list pointer with more pointers than words.
  refuses(HolderCodec, frame([[structPtr(0, 0, 2), [0, 0], listPtr(0, 6, 50)]]), "bad_pointer");
  // A Text whose bytes run past the segment end.
  refuses(
    PropertyCodec,
    frame([[structPtr(0, 0, 1), listPtr(0, 2, 100), bytesWord([104])]]),
    "bad_pointer",
  );
});

Deno.test("list lengths are bounded by schema annotations and by ReadLimits", () => {
  const many = {
    ...overlap,
    properties: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: "v" })),
  };
  const bytes = encode(SheafOverlapMessageCodec, many);
  assert.equal(decodeMessage(SheafOverlapMessageCodec, bytes).properties.length, 20);
  const error = refuses(SheafOverlapMessageCodec, bytes, "too_large", { listLengthMax: 19 });
  assert.match(error.message, /length 20 exceeds 19/);
  const keyTooLong = encode(PropertyCodec, { key: "k".repeat(257), value: "" });
  assert.match(refuses(PropertyCodec, keyTooLong, "too_large").message, /257 bytes exceeds 256/);
});

function nestChain(depth: number): Uint8Array {
  const segment: Word[] = [structPtr(0, 1, 1)];
  for (let i = 0; i < depth; i++) {
    segment.push([i, 0]);
    segment.push(i + 1 < depth ? structPtr(0, 1, 1) : [0, 0]);
  }
  return frame([segment]);
}

Deno.test("100,000-deep nesting stops at the depth limit", () => {
  const bytes = nestChain(100_000);
  assert.match(refuses(NestCodec, bytes, "too_deep").message, /nesting depth exceeds 64/);
  let depth = 0;
  for (let n = decodeMessage(NestCodec, nestChain(50)); n.child; n = n.child) depth++;
  assert.equal(depth, 49);
});

Deno.test("a pointer cycle terminates (traversal limit, or depth limit when lower)", () => {
  // The struct's child pointer (word 2) points back at the struct itself (word 1).
  const bytes = frame([[structPtr(0, 1, 1), [7, 0], structPtr(-2, 1, 1)]]);
  refuses(NestCodec, bytes, "traversal_exceeded");
  refuses(NestCodec, bytes, "traversal_exceeded", { nestingDepthMax: 1_000_000 });
  refuses(NestCodec, bytes, "too_deep", { nestingDepthMax: 10 });
});

Deno.test("every prefix of a valid message is refused as truncated", () => {
  const bytes = encode(SheafOverlapMessageCodec, overlap);
  assert.deepEqual(decodeMessage(SheafOverlapMessageCodec, bytes), overlap);
  for (let n = 0; n < bytes.length; n++) {
    refuses(SheafOverlapMessageCodec, bytes.subarray(0, n), "truncated");
  }
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes);
  refuses(SheafOverlapMessageCodec, longer, "bad_frame");
});

Deno.test("random bytes and random mutations only ever give values or CapnpError", () => {
  const random = prng(20261126);
  const valid = encode(WorknodeCodec, {
    id: "wn-1",
    kind: "sensor",
    properties: [{ key: "a", value: "b" }, { key: "ü", value: "x".repeat(40) }],
    version: 3,
    createdAtMs: -5,
    updatedAtMs: 1_700_000_000_000,
  });
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = new Uint8Array(Math.floor(random() * 200));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    } else {
      bytes = valid.slice();
      const flips = 1 + Math.floor(random() * 4);
      for (let j = 0; j < flips; j++) {
        bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
      }
    }
    try {
      decodeMessage(WorknodeCodec, bytes);
      decoded++;
    } catch (error) {
      if (!(error instanceof CapnpError)) throw error;
    }
  }
  assert.ok(decoded > 0, "some mutations (e.g. of text bytes) still decode");
});

Deno.test("far and double-far pointers are followed within bounds", () => {
  // Root: far to segment 1 word 0 (landing pad), which points at a Property in segment 1.
  const single = frame([
    [farPtr(1, 0, false)],
    [structPtr(0, 0, 2), listPtr(1, 2, 3), [0, 0], bytesWord([104, 105, 0])],
  ]);
  assert.deepEqual(decodeMessage(PropertyCodec, single), { key: "hi", value: "" });
  // Root: double far to segment 1 word 0: a far to segment 2 word 0 plus a tag.
  const double = frame([
    [farPtr(1, 0, true)],
    [farPtr(2, 0, false), structPtr(0, 0, 2)],
    [listPtr(1, 2, 3), [0, 0], bytesWord([111, 107, 0])],
  ]);
  assert.deepEqual(decodeMessage(PropertyCodec, double), { key: "ok", value: "" });
  refuses(PropertyCodec, frame([[farPtr(5, 0, false)]]), "bad_pointer");
  refuses(PropertyCodec, frame([[farPtr(0, 9, false)]]), "bad_pointer");
  // A landing pad that is itself a far pointer.
  refuses(PropertyCodec, frame([[farPtr(1, 0, false)], [farPtr(0, 0, false)]]), "bad_pointer");
});

Deno.test("bad text, capabilities, big UInt64 and wrong pointer kinds are refused", () => {
  const noNul = frame([[structPtr(0, 0, 1), listPtr(0, 2, 2), bytesWord([104, 105])]]);
  refuses(PropertyCodec, noNul, "bad_text");
  const badUtf8 = frame([[structPtr(0, 0, 1), listPtr(0, 2, 3), bytesWord([0xc3, 0x28, 0])]]);
  refuses(PropertyCodec, badUtf8, "bad_text");
  refuses(PropertyCodec, frame([[structPtr(0, 0, 1), [3, 0]]]), "bad_pointer");
  refuses(PropertyCodec, frame([[structPtr(0, 0, 1), structPtr(0, 1, 0)]]), "bad_pointer");
  refuses(PropertyCodec, frame([[listPtr(0, 2, 0)]]), "bad_pointer");
  // Worknode: 3 data words (version first), 3 pointers.
  const worknode = (hi: number): Uint8Array =>
    frame([[structPtr(0, 3, 3), [0xffffffff, hi], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]]);
  refuses(WorknodeCodec, worknode(0x200000), "bad_value");
  const maxSafe = worknode(0x1fffff);
  assert.equal(decodeMessage(WorknodeCodec, maxSafe).version, Number.MAX_SAFE_INTEGER);
});

Deno.test("the reader works in place over a view with a byte offset", () => {
  const bytes = encode(SheafOverlapMessageCodec, overlap);
  const big = new Uint8Array(bytes.length + 24);
  big.set(bytes, 16);
  const view = big.subarray(16, 16 + bytes.length);
  assert.deepEqual(decodeMessage(SheafOverlapMessageCodec, view), overlap);
  assert.equal(readMessage(view).bytes, view);
  // Writing into a view at an offset leaves the bytes around it untouched.
  const target = new Uint8Array(bytes.length + 16).fill(0xee);
  assert.equal(writeMessage(SheafOverlapMessageCodec, overlap, target.subarray(8)), bytes.length);
  assert.deepEqual(target.subarray(8, 8 + bytes.length), bytes);
  assert.equal(target[7], 0xee);
  assert.equal(target[8 + bytes.length], 0xee);
});

Deno.test("a zero-sized root, null pointers and defaults decode like capnp", () => {
  assert.deepEqual(decodeMessage(PropertyCodec, frame([[[0, 0]]])), { key: "", value: "" });
  assert.deepEqual(decodeMessage(HolderCodec, frame([[[0xfffffffc, 0]]])), {
    items: [],
    names: [],
    flag: false,
    count: 0,
  });
  const holder = { items: [{}, {}], names: ["a", "", "ccc"], flag: true, count: -42 };
  assert.deepEqual(decodeMessage(HolderCodec, encode(HolderCodec, holder)), holder);
});

Deno.test("texts of every length and mix round-trip (short path, ASCII windows, UTF-8)", () => {
  const random = prng(7);
  const alphabet = ["a", "b", "Z", "0", " ", "-", "é", "€", "😀", "\u007f"];
  const text = (length: number) =>
    Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
  const ascii = (length: number) => "x".repeat(length);
  for (const big of [false, true]) {
    const properties = Array.from({ length: big ? 400 : 12 }, (_, i) => ({
      key: i % 3 === 0 ? ascii(i % 40) : text(i % 25),
      value: i % 5 === 0 ? text(i * 7 % 300) : ascii(i * 13 % 9000),
    }));
    const value = { a: ascii(20), b: text(30), properties };
    assert.deepEqual(
      decodeMessage(SheafOverlapMessageCodec, encode(SheafOverlapMessageCodec, value)),
      value,
    );
  }
});
