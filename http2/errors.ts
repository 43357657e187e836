/**
 * HTTP/2 error codes as data (RFC 9113 §7) and the one error class the framing, HPACK and
 * connection code throws for peer input: {@link H2Error}.
 *
 * A connection error ends the connection with GOAWAY carrying the code; a stream error resets
 * one stream with RST_STREAM carrying it (RFC 9113 §5.4). Any other exception type escaping a
 * parser is a bug.
 *
 * @example
 * ```ts
 * import { H2_ERROR, H2Error } from "./errors.ts";
 * try {
 *   throw new H2Error("FRAME_SIZE_ERROR", "PING length 7 is not 8");
 * } catch (e) {
 *   if (e instanceof H2Error) console.log(e.code === H2_ERROR.FRAME_SIZE_ERROR); // true
 * }
 * ```
 * @module
 */

/** HTTP/2 error codes, RFC 9113 §7. */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** The name of an HTTP/2 error code, e.g. "PROTOCOL_ERROR". */
export type H2ErrorCodeName = keyof typeof H2_ERROR;

/** Whether an error ends the whole connection (GOAWAY) or one stream (RST_STREAM). */
export type H2ErrorScope = "connection" | "stream";

const NAMES_BY_CODE: readonly H2ErrorCodeName[] = Object.keys(H2_ERROR) as H2ErrorCodeName[];

/**
 * The name for a numeric code, or undefined for a code RFC 9113 does not define (a peer may
 * send any 32-bit value; unknown codes mean INTERNAL_ERROR to the receiver, §7).
 *
 * @example
 * ```ts
 * h2ErrorCodeName(0xb); // "ENHANCE_YOUR_CALM"
 * ```
 */
export function h2ErrorCodeName(code: number): H2ErrorCodeName | undefined {
  return Number.isInteger(code) && code >= 0 ? NAMES_BY_CODE[code] : undefined;
}

/**
 * Whether `name` is one of the code names (for `reset(code)` callers that pass a string).
 *
 * @example
 * ```ts
 * isH2ErrorCodeName("CANCEL"); // true
 * ```
 */
export function isH2ErrorCodeName(name: string): name is H2ErrorCodeName {
  return Object.hasOwn(H2_ERROR, name);
}

/** Options of {@link H2Error}. */
export interface H2ErrorOptions {
  /** Connection error (default) or stream error. */
  readonly scope?: H2ErrorScope;
  /** The stream a stream error resets (required for scope "stream"). */
  readonly streamId?: number;
}

/**
 * A protocol error found in peer input: carries the code to close or reset with.
 *
 * @example
 * ```ts
 * const error = new H2Error("STREAM_CLOSED", "DATA after END_STREAM", { scope: "stream", streamId: 1 });
 * error.code; // 5
 * ```
 */
export class H2Error extends Error {
  /** The numeric error code (RFC 9113 §7). */
  readonly code: number;
  /** The code's name, e.g. "PROTOCOL_ERROR". */
  readonly codeName: H2ErrorCodeName;
  /** Connection error or stream error. */
  readonly scope: H2ErrorScope;
  /** The stream of a stream error; 0 for a connection error. */
  readonly streamId: number;

  constructor(codeName: H2ErrorCodeName, message: string, options: H2ErrorOptions = {}) {
    super(`${codeName}: ${message}`);
    this.name = "H2Error";
    this.codeName = codeName;
    this.code = H2_ERROR[codeName];
    this.scope = options.scope ?? "connection";
    this.streamId = options.streamId ?? 0;
    if (this.scope === "stream" && this.streamId <= 0) {
      throw new RangeError(`Cannot make a stream error without a stream: ${message}`);
    }
  }
}

/**
 * A stream error on `streamId` (RST_STREAM with `codeName`).
 *
 * @example
 * ```ts
 * throw streamError("PROTOCOL_ERROR", 3, "uppercase field name");
 * ```
 */
export function streamError(codeName: H2ErrorCodeName, streamId: number, message: string): H2Error {
  return new H2Error(codeName, message, { scope: "stream", streamId });
}
