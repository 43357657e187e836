/**
 * Whole-message decode with a root codec.
 *
 * @module
 */
import type { StructCodec } from "./codec.ts";
import type { ReadLimits } from "./limits.ts";
import { readMessage } from "./frame.ts";

/**
 * Validates one framed message and decodes its root struct with `codec`.
 *
 * @example
 * ```ts
 * const overlap = decodeMessage(SheafOverlapMessageCodec, bytes, { listLengthMax: 1024 });
 * ```
 */
export function decodeMessage<T>(
  codec: StructCodec<T>,
  bytes: Uint8Array,
  limits?: ReadLimits,
): T {
  const m = readMessage(bytes, limits);
  return m.structField(0, m.segments[0], 0, codec);
}
