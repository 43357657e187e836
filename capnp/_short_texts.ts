/**
 * Short ASCII texts (1..16 bytes) decoded through a small cache of recent ones.
 *
 * Building a short string costs one or two `String.fromCharCode` calls (~10 ns each); a server sees the same
 * short texts again and again (property keys, kinds, ids, enum-like values), and V8's own
 * `JSON.parse` internalizes short strings for the same reason. The cache is direct-mapped with
 * a fixed number of slots: a new text overwrites the slot it hashes to, so it never grows, and a
 * client sending distinct texts only makes its own texts miss (a miss costs the build).
 *
 * A slot's key is the text's length and its first two (up to 8 bytes) or four (9..16 bytes)
 * 4-byte words as found in the message: the text, its NUL and its padding. Equal keys mean equal
 * first `length` bytes, so a hit returns exactly the string the bytes spell (a slot holding a
 * text of another length never matches: the length is part of the key).
 *
 * @module
 */
import { shortAscii } from "./text.ts";

const SLOT_BITS = 10;
const SLOTS = 1 << SLOT_BITS;
/** Per slot: the length, then the key words (two, or four above 8 bytes). */
const KEYS = new Uint32Array(SLOTS * 8);
const TEXTS: string[] = new Array<string>(SLOTS).fill("");

/**
 * The text of `length` (1..16) bytes at `at` (4-byte aligned), when the bytes of its first two
 * words (four above 8 bytes) are all ASCII; null otherwise (the caller decodes strictly). Those
 * words must belong to the text: they do for a validated Text of that length (its words hold
 * the bytes, the NUL and zero or more padding bytes).
 *
 * @example
 * ```ts
 * const bytes = new Uint8Array([104, 105, 0, 0, 0, 0, 0, 0]);
 * shortAsciiText(bytes, new Uint32Array(bytes.buffer), 0, 2); // "hi"
 * ```
 */
export function shortAsciiText(
  u8: Uint8Array,
  u32: Uint32Array,
  at: number,
  length: number,
): string | null {
  const word = at >>> 2;
  const w0 = u32[word];
  const w1 = u32[word + 1];
  if (length > 8) return longerText(u8, u32, at, length);
  if (((w0 | w1) & 0x80808080) !== 0) return null;
  const h = Math.imul(w0 ^ Math.imul(w1 ^ length, 0x85ebca6b), 0x9e3779b1) >>> (32 - SLOT_BITS);
  const k = h * 8;
  if (KEYS[k] === length && KEYS[k + 1] === w0 && KEYS[k + 2] === w1) return TEXTS[h];
  const text = shortAscii(u8, at, length);
  KEYS[k] = length;
  KEYS[k + 1] = w0;
  KEYS[k + 2] = w1;
  TEXTS[h] = text;
  return text;
}

/** {@link shortAsciiText} for 9..16 bytes: four key words. */
function longerText(u8: Uint8Array, u32: Uint32Array, at: number, length: number): string | null {
  const word = at >>> 2;
  const w0 = u32[word];
  const w1 = u32[word + 1];
  const w2 = u32[word + 2];
  const w3 = u32[word + 3];
  if (((w0 | w1 | w2 | w3) & 0x80808080) !== 0) return null;
  const h = Math.imul(
    w0 ^ Math.imul(w1 ^ length, 0x85ebca6b) ^ Math.imul(w2 ^ w3, 0xc2b2ae35),
    0x9e3779b1,
  ) >>> (32 - SLOT_BITS);
  const k = h * 8;
  if (
    KEYS[k] === length && KEYS[k + 1] === w0 && KEYS[k + 2] === w1 && KEYS[k + 3] === w2 &&
    KEYS[k + 4] === w3
  ) {
    return TEXTS[h];
  }
  const text = shortAscii(u8, at, 8) + shortAscii(u8, at + 8, length - 8);
  KEYS[k] = length;
  KEYS[k + 1] = w0;
  KEYS[k + 2] = w1;
  KEYS[k + 3] = w2;
  KEYS[k + 4] = w3;
  TEXTS[h] = text;
  return text;
}
