/**
 * UTF-8 for Text fields: a fast path for ASCII, strict validation otherwise.
 *
 * @module
 */
import { CapnpError } from "./errors.ts";

const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();
/** Up to this length, ASCII strings are built by char codes; longer ones by the decoder. */
const SHORT_ASCII_BYTES_MAX = 48;

/**
 * Decodes `length` bytes at `start` as UTF-8. Invalid UTF-8 throws a CapnpError (bad_text).
 *
 * @example
 * ```ts
 * decodeUtf8(new TextEncoder().encode("héllo"), 0, 6); // "héllo"
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, start: number, length: number): string {
  if (length <= SHORT_ASCII_BYTES_MAX) {
    let out = "";
    const end = start + length;
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return decodeStrict(bytes, start, length);
      out += String.fromCharCode(c);
    }
    return out;
  }
  return decodeStrict(bytes, start, length);
}

function decodeStrict(bytes: Uint8Array, start: number, length: number): string {
  try {
    return DECODER.decode(bytes.subarray(start, start + length));
  } catch {
    throw new CapnpError("bad_text", "Cannot read text: it is not valid UTF-8");
  }
}

/**
 * The UTF-8 byte length of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder).
 *
 * @example
 * ```ts
 * utf8Length("é"); // 2
 * ```
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/**
 * Writes `s` as UTF-8 at `start`; `length` is its UTF-8 length from {@link utf8Length}.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(5);
 * encodeUtf8Into("hello", out, { start: 0, length: 5 });
 * ```
 */
export function encodeUtf8Into(
  s: string,
  target: Uint8Array,
  options: { start: number; length: number },
): void {
  const start = options.start;
  if (options.length === s.length) {
    for (let i = 0; i < s.length; i++) target[start + i] = s.charCodeAt(i);
    return;
  }
  ENCODER.encodeInto(s, target.subarray(start, start + options.length));
}

/**
 * 1..8 bytes at `at` (checked ASCII by the caller) as a string, in one allocation.
 *
 * @example
 * ```ts
 * shortAscii(new Uint8Array([104, 105]), 0, 2); // "hi"
 * ```
 */
export function shortAscii(u8: Uint8Array, at: number, length: number): string {
  const c = String.fromCharCode;
  switch (length) {
    case 1:
      return c(u8[at]);
    case 2:
      return c(u8[at], u8[at + 1]);
    case 3:
      return c(u8[at], u8[at + 1], u8[at + 2]);
    case 4:
      return c(u8[at], u8[at + 1], u8[at + 2], u8[at + 3]);
    case 5:
      return c(u8[at], u8[at + 1], u8[at + 2], u8[at + 3], u8[at + 4]);
    case 6:
      return c(u8[at], u8[at + 1], u8[at + 2], u8[at + 3], u8[at + 4], u8[at + 5]);
    case 7:
      return c(u8[at], u8[at + 1], u8[at + 2], u8[at + 3], u8[at + 4], u8[at + 5], u8[at + 6]);
    default:
      return c(
        u8[at],
        u8[at + 1],
        u8[at + 2],
        u8[at + 3],
        u8[at + 4],
        u8[at + 5],
        u8[at + 6],
        u8[at + 7],
      );
  }
}
