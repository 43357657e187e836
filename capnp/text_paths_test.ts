import assert from "@std/assert";
import { HolderCodec } from "./testdata/nest_capnp.ts";
import { PropertyCodec } from "../schema/worknode_capnp.ts";
import { SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import {
  CapnpError,
  decodeMessage,
  measureMessage,
  type StructCodec,
  writeMessage,
} from "./mod.ts";
import { frame, listPtr, prng, structPtr, type Word } from "./_test_frames.ts";

function encode<T>(codec: StructCodec<T>, value: T): Uint8Array {
  const out = new Uint8Array(measureMessage(codec, value));
  assert.equal(writeMessage(codec, value, out), out.length);
  return out;
}

/** A Property message whose key is `bytes` followed by the NUL and then `padding`. */
function keyWithPadding(bytes: readonly number[], padding: readonly number[]): Uint8Array {
  const all = [...bytes, 0, ...padding];
  assert.equal(all.length % 8, 0, "text words must be whole");
  const words: Word[] = [structPtr(0, 0, 2), listPtr(1, 2, bytes.length + 1), [0, 0]];
  for (let i = 0; i < all.length; i += 8) {
    const lo = all[i] | all[i + 1] << 8 | all[i + 2] << 16 | all[i + 3] << 24;
    const hi = all[i + 4] | all[i + 5] << 8 | all[i + 6] << 16 | all[i + 7] << 24;
    words.push([lo, hi]);
  }
  return frame([words]);
}

Deno.test("short texts: every length 1..16, repeated and colliding, decode to their bytes", () => {
  const random = prng(11);
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789-_./:";
  // More distinct texts than the cache has slots, so slots are overwritten and reused.
  const texts = Array.from({ length: 3000 }, (_, i) => {
    const length = 1 + (i % 16);
    return Array.from({ length }, () => letters[Math.floor(random() * letters.length)]).join("");
  });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < texts.length; i += 2) {
      const value = { key: texts[i], value: texts[i + 1] };
      assert.deepEqual(decodeMessage(PropertyCodec, encode(PropertyCodec, value)), value);
    }
  }
  // Prefixes of one another (same first words, other lengths) never answer for each other.
  for (const key of ["a", "ab", "abc", "abcdefgh", "abcdefghi", "abcdefghijklmnop"]) {
    assert.equal(decodeMessage(PropertyCodec, encode(PropertyCodec, { key, value: "" })).key, key);
  }
});

Deno.test("short texts: padding after the NUL never changes the text", () => {
  const hi = [104, 105];
  // Zero padding (as every writer makes it), ASCII garbage and bytes of 0x80 or more.
  for (const padding of [[0, 0, 0, 0, 0], [120, 121, 122, 1, 2], [0xff, 0x80, 0xc3, 0, 0xfe]]) {
    assert.equal(decodeMessage(PropertyCodec, keyWithPadding(hi, padding)).key, "hi");
  }
  const nine = [...new TextEncoder().encode("threshold")];
  for (const padding of [[0, 0, 0, 0, 0, 0], [0x90, 0x90, 0x90, 0x90, 0x90, 0x90]]) {
    assert.equal(decodeMessage(PropertyCodec, keyWithPadding(nine, padding)).key, "threshold");
  }
  // Invalid UTF-8 in a short text is refused whatever the padding.
  assert.throws(
    () => decodeMessage(PropertyCodec, keyWithPadding([0xc3, 0x28], [0, 0, 0, 0, 0])),
    (e: unknown) => e instanceof CapnpError && e.code === "bad_text",
  );
});

Deno.test("texts decode the same from a view at any byte offset (aligned or not)", () => {
  const value = { key: "location", value: "rack-7/slot-3 é" };
  const bytes = encode(PropertyCodec, value);
  for (let offset = 0; offset < 8; offset++) {
    const big = new Uint8Array(bytes.length + 16).fill(0xaa);
    big.set(bytes, offset);
    assert.deepEqual(
      decodeMessage(PropertyCodec, big.subarray(offset, offset + bytes.length)),
      value,
    );
  }
});

Deno.test("ASCII windows: non-ASCII text, U+FFFD, a BOM and bad UTF-8 inside big messages", () => {
  const ascii = (i: number) => `claimed value ${i} for the overlap`;
  const specials = ["caf\u00e9 au lait, tr\u00e8s bien", "\ufffd replacement itself \ufffd"];
  specials.push("\ufeffstarts with a byte order mark", "ends with an emoji \u{1f600}");
  const properties = Array.from({ length: 600 }, (_, i) => ({
    key: `property-${String(i).padStart(4, "0")}`,
    value: i % 97 === 5 ? specials[(i / 97 | 0) % specials.length] : ascii(i),
  }));
  const value = { a: "wn-a", b: "wn-b", properties };
  const bytes = encode(SheafOverlapMessageCodec, value);
  assert.deepEqual(decodeMessage(SheafOverlapMessageCodec, bytes), value);
  // One invalid byte in one text of an otherwise ASCII message is still refused.
  const broken = bytes.slice();
  const at = broken.lastIndexOf(0x6f); // an "o" of the last "overlap"
  broken[at] = 0xff;
  assert.throws(
    () => decodeMessage(SheafOverlapMessageCodec, broken),
    (e: unknown) => e instanceof CapnpError && e.code === "bad_text",
  );
});

Deno.test("ASCII windows stop at non-ASCII bytes between texts (texts and data interleaved)", () => {
  // A list of texts whose words are followed by other bytes of 0x80 or more: each Text's
  // padding is garbage, so a window can never span two texts.
  const names = Array.from({ length: 300 }, (_, i) => `name number ${i} of the holder`);
  const bytes = encode(HolderCodec, { items: [], names, flag: true, count: 3 });
  const dirty = bytes.slice();
  const view = new DataView(dirty.buffer);
  // Walk the texts: after each NUL, fill its padding with 0xff.
  for (let i = 0; i < dirty.length; i++) {
    if (dirty[i] === 0 && i > 0 && dirty[i - 1] === 0x72 /* "r" of "holder" */) {
      for (let p = i + 1; (p & 7) !== 0; p++) dirty[p] = 0xff;
    }
  }
  assert.notDeepEqual(dirty, bytes);
  assert.equal(view.getUint32(0, true), 0);
  assert.deepEqual(decodeMessage(HolderCodec, dirty).names, names);
});

Deno.test("the writer zeroes a reused target and never writes past its end", () => {
  const value = {
    a: "wn-a",
    b: "b é",
    properties: [{ key: "k", value: "x".repeat(13) }, { key: "ключ", value: "\u{1f600}" }],
  };
  const fresh = encode(SheafOverlapMessageCodec, value);
  const dirty = new Uint8Array(fresh.length + 8).fill(0xff);
  assert.equal(writeMessage(SheafOverlapMessageCodec, value, dirty), fresh.length);
  assert.deepEqual(dirty.subarray(0, fresh.length), fresh);
  assert.equal(dirty[fresh.length], 0xff);
  // Too small by one word: refused, and nothing after the target is touched.
  const big = new Uint8Array(fresh.length + 8).fill(0xee);
  const target = big.subarray(0, fresh.length - 8);
  assert.throws(
    () => writeMessage(SheafOverlapMessageCodec, value, target),
    (e: unknown) => e instanceof CapnpError && e.code === "target_too_small",
  );
  assert.ok(big.subarray(fresh.length - 8).every((b) => b === 0xee));
});

Deno.test("a growable buffer's new bytes are read through fresh views", () => {
  const buffer = new ArrayBuffer(64, { maxByteLength: 4096 });
  // A short non-ASCII value: read through stale word views it would pass as ASCII.
  const value = { key: "location", value: "\u00e9t\u00e9" };
  const bytes = encode(PropertyCodec, value);
  new Uint8Array(buffer).set(bytes);
  assert.deepEqual(decodeMessage(PropertyCodec, new Uint8Array(buffer, 0, bytes.length)), value);
  buffer.resize(4096);
  new Uint8Array(buffer).set(bytes, 2048);
  assert.deepEqual(
    decodeMessage(PropertyCodec, new Uint8Array(buffer, 2048, bytes.length)),
    value,
  );
});
