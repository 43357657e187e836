/**
 * RPC error codes and their HTTP statuses, as Connect RPC maps them (docs/design.md). A ground-floor
 * module: domain/, store/, capnp/ and every transport import it, and it imports nothing.
 *
 * Error codes are data: every place that needs a status or a code name reads this table.
 *
 * @module
 */

/** Every RPC error code, with the HTTP status it maps to. */
export const ERROR_CODES = {
  canceled: { httpStatus: 499 },
  unknown: { httpStatus: 500 },
  invalid_argument: { httpStatus: 400 },
  deadline_exceeded: { httpStatus: 504 },
  not_found: { httpStatus: 404 },
  already_exists: { httpStatus: 409 },
  permission_denied: { httpStatus: 403 },
  resource_exhausted: { httpStatus: 429 },
  failed_precondition: { httpStatus: 400 },
  aborted: { httpStatus: 409 },
  out_of_range: { httpStatus: 400 },
  unimplemented: { httpStatus: 501 },
  internal: { httpStatus: 500 },
  unavailable: { httpStatus: 503 },
  data_loss: { httpStatus: 500 },
  unauthenticated: { httpStatus: 401 },
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

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetails; httpStatus?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "RpcError";
    this.code = code;
    this.details = options.details;
    this.httpStatus = options.httpStatus ?? ERROR_CODES[code].httpStatus;
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
