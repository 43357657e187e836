/**
 * The shared result registers of pointer resolution (see `MessageReader`), and the tag split.
 *
 * @module
 */

/**
 * Results of the last pointer resolution: `resolveStruct`/`resolveList`/`textRange` leave them
 * here for the caller to read at once. Decoding is synchronous and never calls out, so one
 * shared set serves every reader (and keeps each reader object small).
 */
export const RESOLVED = {
  /** Segment of the target. */
  seg: 0,
  /** Byte position of the target (struct data, or first list element). */
  pos: 0,
  /** Struct data section bytes (struct, or composite list element). */
  dataBytes: 0,
  /** Struct pointer count (struct, or composite list element). */
  ptrCount: 0,
  /** List element count (Text: bytes without the NUL). */
  count: 0,
  /** Bytes from one list element to the next (composite lists). */
  step: 0,
  // The pointer's kind and tag, split so every value stays a small integer.
  kind: 0,
  tagLow: 0,
  tagHigh: 0,
};

/** Leaves a pointer's kind and its upper word (tag) in {@link RESOLVED}. */
export function setTag(lo: number, hi: number): void {
  RESOLVED.kind = lo & 3;
  RESOLVED.tagLow = hi & 0xffff;
  RESOLVED.tagHigh = hi >>> 16;
}
