/**
 * The errors the codec throws: one class, with the reason as a code (data, not prose).
 *
 * @module
 */

/** Every reason a message can be refused, with what it means. */
export const CAPNP_ERROR_CODES = {
  truncated: "the bytes end before the frame, a segment or a pointer target",
  too_large: "a count or size exceeds a configured or schema limit",
  bad_frame: "the frame header or segment table is inconsistent",
  bad_pointer: "a pointer has the wrong kind, is out of bounds or lands badly",
  bad_text: "a Text is not NUL-terminated or not valid UTF-8",
  bad_value: "a value cannot be represented (e.g. a UInt64 above 2^53-1)",
  too_deep: "the nesting depth limit was reached",
  traversal_exceeded: "the traversal limit (total words read) was reached",
  bad_json: "the JSON form of a value does not match the schema",
  target_too_small: "the output buffer is smaller than the encoded message",
} as const;

/** The reason code of a {@link CapnpError}, e.g. `"truncated"`. */
export type CapnpErrorCode = keyof typeof CAPNP_ERROR_CODES;

/**
 * A message (binary or JSON form) was refused. Untrusted input only ever produces this error,
 * never a RangeError from a DataView or an out-of-memory.
 *
 * @example
 * ```ts
 * throw new CapnpError("too_large", "Cannot read message: segment count 100000000 exceeds 64");
 * ```
 */
export class CapnpError extends Error {
  readonly code: CapnpErrorCode;

  constructor(code: CapnpErrorCode, message: string) {
    super(message);
    this.name = "CapnpError";
    this.code = code;
  }
}
