/**
 * RPC error codes and their HTTP statuses, as Connect RPC maps them (docs/design.md). A ground-floor
 * module: domain/, store/, capnp/ and every transport import it, and it imports nothing.
 *
 * Error codes are data: every place that needs a status or a code name reads this table.
 *
 * @module
 */

/**
 * Every RPC error code, with the HTTP status it maps to and, for the retriable ones, the
 * Retry-After (seconds) its answer carries: the pool frees blocks and fair-share caps refill
 * within a call's time, so one second is the hint.
 */
export const ERROR_CODES = {
  canceled: { httpStatus: 499, retryAfterSeconds: null },
  unknown: { httpStatus: 500, retryAfterSeconds: null },
  invalid_argument: { httpStatus: 400, retryAfterSeconds: null },
  deadline_exceeded: { httpStatus: 504, retryAfterSeconds: null },
  not_found: { httpStatus: 404, retryAfterSeconds: null },
  already_exists: { httpStatus: 409, retryAfterSeconds: null },
  permission_denied: { httpStatus: 403, retryAfterSeconds: null },
  resource_exhausted: { httpStatus: 429, retryAfterSeconds: 1 },
  failed_precondition: { httpStatus: 400, retryAfterSeconds: null },
  aborted: { httpStatus: 409, retryAfterSeconds: null },
  out_of_range: { httpStatus: 400, retryAfterSeconds: null },
  unimplemented: { httpStatus: 501, retryAfterSeconds: null },
  internal: { httpStatus: 500, retryAfterSeconds: null },
  unavailable: { httpStatus: 503, retryAfterSeconds: 1 },
  data_loss: { httpStatus: 500, retryAfterSeconds: null },
  unauthenticated: { httpStatus: 401, retryAfterSeconds: null },
} as const;

/** The name of an RPC error code, e.g. `"invalid_argument"`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** JSON-compatible details attached to an error (e.g. `{ currentVersion: 7 }`). */
export type ErrorDetails = Record<string, unknown>;

/**
 * An error that crosses the RPC boundary with a code, a message and optional details.
 *
 * Handlers throw it; dispatch turns it into an `RpcResponse` carrying `RpcError`.
 *
 * @example
 * ```ts
 * throw new RpcError("not_found", "Cannot get worknode: id w-1 does not exist");
 * ```
 */
export class RpcError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  /** HTTP status override: 413 for a request too large (code resource_exhausted). */
  readonly httpStatus: number;
  /**
   * The Retry-After its answer carries, or null: the code's (table above) unless the status is
   * overridden (a 413 will not succeed on retry) or `options.retryAfterSeconds` says otherwise.
   */
  readonly retryAfterSeconds: number | null;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: ErrorDetails;
      httpStatus?: number;
      retryAfterSeconds?: number | null;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "RpcError";
    this.code = code;
    this.details = options.details;
    const entry = ERROR_CODES[code];
    this.httpStatus = options.httpStatus ?? entry.httpStatus;
    this.retryAfterSeconds = options.retryAfterSeconds !== undefined
      ? options.retryAfterSeconds
      : options.httpStatus === undefined
      ? entry.retryAfterSeconds
      : null;
  }
}

/**
 * Returns whether `name` is a known error code.
 *
 * @example
 * ```ts
 * isErrorCode("aborted"); // true
 * ```
 */
export function isErrorCode(name: string): name is ErrorCode {
  return Object.hasOwn(ERROR_CODES, name);
}
