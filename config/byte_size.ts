/**
 * Parsing of byte sizes such as `64MiB`, `1GiB`, `512KiB` or `67108864`.
 *
 * @module
 */

/** Binary unit suffixes and their multipliers (decimal units are refused: ambiguous). */
const UNIT_BYTES = {
  "": 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
} as const;

/**
 * Parses a byte size: a whole number with an optional binary unit (`B`, `KiB`, `MiB`, `GiB`,
 * `TiB`). Throws a `RangeError` naming the accepted forms when the text is anything else.
 *
 * @example
 * ```ts
 * parseByteSize("64MiB"); // 67108864
 * parseByteSize("4096"); // 4096
 * ```
 */
export function parseByteSize(text: string): number {
  if (typeof text !== "string") throw new TypeError("Cannot parse a byte size: not a string");
  // Bounded input: the longest valid size is 16 digits and a 3-letter unit.
  const match = /^(\d{1,16})[ ]?([A-Za-z]{0,3})$/.exec(text.trim().slice(0, 32));
  const unit = match?.[2] ?? "";
  if (match === null || !Object.hasOwn(UNIT_BYTES, unit)) {
    throw new RangeError(`"${text.slice(0, 40)}" is not a byte size like 64MiB, 1GiB or 4096`);
  }
  const bytes = Number(match[1]) * UNIT_BYTES[unit as keyof typeof UNIT_BYTES];
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(`"${text.slice(0, 40)}" is too large a byte size`);
  }
  return bytes;
}
