/**
 * The refusals the call core answers with: errors made once and reused, so their answers are
 * shared too (built once per wire by the error encoder), and the helpers that name a refused
 * call's problem.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { CallHead } from "./call_head.ts";

/** A method other than POST (or GET, for a side-effect-free method), under /rpc: 405. */
export const NOT_POST = new RpcError("unimplemented", "Cannot call: /rpc takes POST", {
  httpStatus: 405,
});
export const NOT_POST_OR_GET = new RpcError(
  "unimplemented",
  "Cannot call: the method takes GET or POST",
  {
    httpStatus: 405,
  },
);
export const NOT_GET = new RpcError(
  "unimplemented",
  "Cannot call with GET: the method has side effects (or is a batch); POST it",
  { httpStatus: 405 },
);
/** A GET that declares a body: 400. */
export const GET_WITH_BODY = new RpcError(
  "invalid_argument",
  "Cannot call with GET: it takes no body",
);
/** A name not in the frozen method set: 501. */
export const UNKNOWN_METHOD = new RpcError("unimplemented", "Cannot call: unknown method");
/** Every call once shutdown began: 503 with Retry-After. */
export const DRAINING = new RpcError("unavailable", "Cannot call: the server is shutting down");

/** A request body in a coding other than gzip or identity: 415. */
export const UNSUPPORTED_CODING = new RpcError(
  "invalid_argument",
  "Cannot call: unsupported Content-Encoding (gzip or identity)",
  { httpStatus: 415 },
);

/**
 * Errors made once and reused: their answers are shared too (built once per wire). Refusing
 * under load (a spent pool, a client over its share) is the path a flood keeps hot, so those
 * refusals cost no error object, no encoding and no answer per call.
 */
const SHARED_ERRORS = new WeakSet<RpcError>();

/** Whether `error` is one of the reused ones (auth's, or one of a RefusalCache). */
export function isShared(error: RpcError): boolean {
  return error.code === "unauthenticated" || error.code === "permission_denied" ||
    SHARED_ERRORS.has(error);
}

/** A reused refusal per key (bounded: methods x classes x two scopes, or methods). */
export class RefusalCache {
  readonly #errors = new Map<string, RpcError>();

  get(key: string, make: () => RpcError): RpcError {
    let error = this.#errors.get(key);
    if (error === undefined) {
      error = make();
      SHARED_ERRORS.add(error);
      this.#errors.set(key, error);
    }
    return error;
  }
}

/** The name of the singleton field a head repeats. */
export function repeatedField(head: CallHead): string {
  if (head.authorizationCount > 1) return "Authorization";
  if (head.contentTypeCount > 1) return "Content-Type";
  return "Rpc-Timeout-Ms";
}

/** The 500 of an unexpected failure while opening a call (the detail goes to the log). */
export function internalError(thrown: unknown): RpcError {
  console.error("rpc: opening a call failed:", thrown);
  return new RpcError("internal", "Internal error", { cause: thrown });
}
