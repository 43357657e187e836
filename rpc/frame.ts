/**
 * Cap'n Proto stream framing, as far as a batch needs it: the byte length of the frame that
 * starts at an offset, computed from the segment table with every count bounded.
 *
 * @module
 */

import { RpcError } from "./errors.ts";

/** The most segments a frame may declare (matches the codec's default limit). */
export const FRAME_SEGMENT_COUNT_MAX = 64;

/**
 * The length in bytes of the frame starting at `bytes[offset]`, checked against the bytes
 * present. Throws RpcError invalid_argument on a truncated or oversized header.
 *
 * @example
 * ```ts
 * const n = frameLengthBytes(body, 0); // header + segments
 * ```
 */
export function frameLengthBytes(bytes: Uint8Array, offset: number): number {
  const available = bytes.length - offset;
  if (available < 8) {
    throw new RpcError("invalid_argument", `Cannot read frame: ${available} bytes left, need 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, available);
  const segmentCount = view.getUint32(0, true) + 1;
  if (segmentCount > FRAME_SEGMENT_COUNT_MAX) {
    throw new RpcError(
      "invalid_argument",
      `Cannot read frame: segment count ${segmentCount} exceeds ${FRAME_SEGMENT_COUNT_MAX}`,
    );
  }
  // The table holds one u32 per segment after the count, padded to a whole word.
  const headerBytes = (4 + 4 * segmentCount + 7) & ~7;
  if (available < headerBytes) {
    throw new RpcError("invalid_argument", `Cannot read frame: header needs ${headerBytes} bytes`);
  }
  let total = headerBytes;
  for (let s = 0; s < segmentCount; s++) {
    total += view.getUint32(4 + 4 * s, true) * 8;
    if (total > available) {
      throw new RpcError(
        "invalid_argument",
        `Cannot read frame: it declares ${total} bytes, ${available} arrived`,
      );
    }
  }
  return total;
}
