/**
 * ASCII windows: one native decode for a run of ASCII bytes, so that the many Text fields
 * inside it are substrings (see `MessageReader.text`).
 *
 * @module
 */

const ASCII_DECODER = new TextDecoder();

/** A window: `text` holds the bytes from its start up to `end`, one character per byte. */
export interface AsciiWindow {
  readonly text: string;
  /** Byte position just past the window (its start plus `text.length`). */
  readonly end: number;
  /** Bytes decoded and scanned to find it (the caller's budget). */
  readonly scannedBytes: number;
}

/**
 * The ASCII window that starts at `at`, at most up to `limit`. The bytes up to `limit` are
 * decoded at once; when the string has one character per byte and no U+FFFD, every byte was
 * ASCII (a non-ASCII byte either joins others into fewer characters or becomes U+FFFD, and
 * nothing makes more), so the whole range is the window. Otherwise the window is the ASCII run
 * from `at`, found by a scan: the characters before the first non-ASCII byte are those bytes,
 * one for one.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("abc\u00e9");
 * asciiWindow(bytes, new Uint32Array(bytes.buffer, 0, 1), 0, bytes.length).text; // "abc"
 * ```
 */
export function asciiWindow(
  u8: Uint8Array,
  u32: Uint32Array,
  at: number,
  limit: number,
): AsciiWindow {
  const text = ASCII_DECODER.decode(u8.subarray(at, limit));
  if (text.length === limit - at && text.indexOf("\ufffd") < 0) {
    return { text, end: limit, scannedBytes: limit - at };
  }
  const end = asciiEnd(u8, u32, at, limit);
  return { text: text.substring(0, end - at), end, scannedBytes: limit - at + end - at };
}

/**
 * The end of the ASCII run that starts at `at` (at most `limit`): bytes one by one up to a
 * 4-byte boundary, then four words per step (a loop of one word per step costs several times
 * more per byte), then bytes again.
 */
function asciiEnd(u8: Uint8Array, u32: Uint32Array, at: number, limit: number): number {
  let p = at;
  while (p < limit && (p & 3) !== 0 && u8[p] < 0x80) p++;
  if ((p & 3) === 0) {
    let i = p >>> 2;
    const end = (limit >>> 2) - 3;
    while (i < end && ((u32[i] | u32[i + 1] | u32[i + 2] | u32[i + 3]) & 0x80808080) === 0) i += 4;
    p = i << 2;
  }
  while (p < limit && u8[p] < 0x80) p++;
  return p;
}
