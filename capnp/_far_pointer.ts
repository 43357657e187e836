/**
 * Far pointers: a landing pad in another segment (or the same one), or a double-far pad that
 * carries the tag of content placed elsewhere. Each position is checked against its segment.
 *
 * @module
 */
import { CapnpError } from "./errors.ts";
import { RESOLVED as R, setTag } from "./_resolved.ts";

/**
 * Follows the far pointer `lo`/`hi` of a message with `segments` (interleaved bounds, as
 * `MessageReader.segments`); leaves the tag and the target in `RESOLVED`.
 *
 * @example
 * ```ts
 * resolveFar(message.view, message.segments, lo, hi);
 * const target = RESOLVED.pos;
 * ```
 */
export function resolveFar(
  view: DataView,
  segments: readonly number[],
  lo: number,
  hi: number,
): void {
  const isDouble = (lo & 4) !== 0;
  const padPos = landingPad(segments, hi, lo >>> 3, isDouble ? 2 : 1);
  const padLo = view.getUint32(padPos, true);
  const padHi = view.getUint32(padPos + 4, true);
  if (!isDouble) {
    if ((padLo & 3) === 2 || (padLo & 3) === 3) {
      throw new CapnpError("bad_pointer", "Cannot read pointer: far landing pad is not a pointer");
    }
    setTag(padLo, padHi);
    R.seg = hi;
    R.pos = padPos + 8 + (padLo >> 2) * 8;
    return;
  }
  if ((padLo & 7) !== 2) {
    throw new CapnpError("bad_pointer", "Cannot read pointer: double-far pad is not a far");
  }
  const contentPos = landingPad(segments, padHi, padLo >>> 3, 0);
  const tagLo = view.getUint32(padPos + 8, true);
  if ((tagLo & 3) > 1) {
    throw new CapnpError("bad_pointer", "Cannot read pointer: double-far tag is not a pointer");
  }
  setTag(tagLo, view.getUint32(padPos + 12, true));
  R.seg = padHi;
  R.pos = contentPos;
}

/** Byte position of word `word` of segment `segment`, with `words` words inside it. */
function landingPad(
  segments: readonly number[],
  segment: number,
  word: number,
  words: number,
): number {
  if (2 * segment >= segments.length) {
    throw new CapnpError("bad_pointer", `Cannot read pointer: far to missing segment ${segment}`);
  }
  const at = segments[2 * segment] + word * 8;
  if (at + words * 8 > segments[2 * segment + 1]) {
    throw new CapnpError("bad_pointer", "Cannot read pointer: far pointer lands out of bounds");
  }
  R.seg = segment;
  return at;
}
