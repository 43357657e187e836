/**
 * Limits applied while reading untrusted messages.
 *
 * @module
 */

/** Bounds applied before and while a message is decoded. Every field is optional. */
export interface ReadLimits {
  /** Largest accepted segment count in the frame header (checked before the table is read). */
  readonly segmentCountMax?: number;
  /**
   * Largest total of words a decode may read (struct and list contents; an element of a
   * zero-sized list counts as one word). The effective limit is also bounded by the message
   * size times `amplificationMax`, so a small message can never cause a large decode.
   */
  readonly traversalWordsMax?: number;
  /** How many times the message's own words a decode may read (pointer aliasing bound). */
  readonly amplificationMax?: number;
  /** Deepest struct/list nesting followed (the root struct is depth 1). */
  readonly nestingDepthMax?: number;
  /**
   * Largest element count of any List field (struct and Text lists), on top of the schema's
   * `listLengthMax` annotations. Text and Data byte lengths are not list lengths here.
   */
  readonly listLengthMax?: number;
}

/** The limits used when a field of {@link ReadLimits} is not given. */
export const READ_LIMITS_DEFAULT = {
  segmentCountMax: 64,
  traversalWordsMax: 8 * 1024 * 1024,
  amplificationMax: 2,
  nestingDepthMax: 64,
  listLengthMax: 1 << 20,
} as const satisfies Required<ReadLimits>;
