/**
 * HTTP/3 and QPACK error codes as data (RFC 9114 §8.1, RFC 9204 §6), and the one error class
 * that the framing and QPACK code throws: {@link H3Error}.
 *
 * Every parser in `http3/` reports malformed or forbidden input by throwing an `H3Error` whose
 * `code` is the application error code to close the connection (or reset the stream) with. Any
 * other exception type escaping a parser is a bug.
 *
 * @example
 * ```ts
 * import { H3_ERROR, H3Error } from "./errors.ts";
 * try {
 *   throw new H3Error("H3_FRAME_UNEXPECTED", "DATA frame on the control stream");
 * } catch (e) {
 *   if (e instanceof H3Error) console.log(e.code === H3_ERROR.H3_FRAME_UNEXPECTED); // true
 * }
 * ```
 * @module
 */

/** HTTP/3 error codes, RFC 9114 §8.1. */
export const H3_ERROR = {
  H3_NO_ERROR: 0x0100,
  H3_GENERAL_PROTOCOL_ERROR: 0x0101,
  H3_INTERNAL_ERROR: 0x0102,
  H3_STREAM_CREATION_ERROR: 0x0103,
  H3_CLOSED_CRITICAL_STREAM: 0x0104,
  H3_FRAME_UNEXPECTED: 0x0105,
  H3_FRAME_ERROR: 0x0106,
  H3_EXCESSIVE_LOAD: 0x0107,
  H3_ID_ERROR: 0x0108,
  H3_SETTINGS_ERROR: 0x0109,
  H3_MISSING_SETTINGS: 0x010a,
  H3_REQUEST_REJECTED: 0x010b,
  H3_REQUEST_CANCELLED: 0x010c,
  H3_REQUEST_INCOMPLETE: 0x010d,
  H3_MESSAGE_ERROR: 0x010e,
  H3_CONNECT_ERROR: 0x010f,
  H3_VERSION_FALLBACK: 0x0110,
} as const;

/** QPACK error codes, RFC 9204 §6. */
export const QPACK_ERROR = {
  QPACK_DECOMPRESSION_FAILED: 0x0200,
  QPACK_ENCODER_STREAM_ERROR: 0x0201,
  QPACK_DECODER_STREAM_ERROR: 0x0202,
} as const;

/** Every error code name this project uses, HTTP/3 and QPACK. */
export const ERROR_CODE = { ...H3_ERROR, ...QPACK_ERROR } as const;

/** The name of an HTTP/3 or QPACK error code. */
export type ErrorCodeName = keyof typeof ERROR_CODE;

/**
 * Whether an error ends the whole connection or only one stream (RFC 9114 §8). The parsers in
 * this folder only raise connection errors except where noted; the adapter may downgrade.
 */
export type ErrorScope = "connection" | "stream";

/**
 * The name for a numeric code, or undefined when the code is not one of ours (for example a
 * GREASE code 0x1f*N+0x21 from the peer).
 *
 * @example
 * ```ts
 * errorCodeName(0x0105); // "H3_FRAME_UNEXPECTED"
 * ```
 */
export function errorCodeName(code: number): ErrorCodeName | undefined {
  for (const [name, value] of Object.entries(ERROR_CODE)) {
    if (value === code) return name as ErrorCodeName;
  }
  return undefined;
}

/**
 * A protocol error found in peer input: carries the code to close or reset with.
 *
 * @example
 * ```ts
 * const error = new H3Error("QPACK_DECOMPRESSION_FAILED", "Huffman padding is not all ones");
 * error.code; // 0x200
 * ```
 */
export class H3Error extends Error {
  /** The numeric application error code. */
  readonly code: number;
  /** The code's name, e.g. "H3_FRAME_ERROR". */
  readonly codeName: ErrorCodeName;
  /** Connection error or stream error. */
  readonly scope: ErrorScope;

  constructor(codeName: ErrorCodeName, message: string, options: { scope?: ErrorScope } = {}) {
    super(`${codeName}: ${message}`);
    this.name = "H3Error";
    this.codeName = codeName;
    this.code = ERROR_CODE[codeName];
    this.scope = options.scope ?? "connection";
  }
}
