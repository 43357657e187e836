/**
 * The one error encoder: an RpcError becomes an answer with the code's HTTP status, the header
 * fields its code asks for (Retry-After from the code table in errors/rpc_error.ts) and a body in
 * the request's wire: `{"error":{"code","message","details"}}` for JSON, a framed RpcResponse
 * carrying the RpcError for Cap'n Proto. Every error a client gets — a refused call, a failed
 * handler, a transport's own refusal (a bad HTTP/1.1 head, a draining server) — is made here.
 *
 * Error bodies are heap bytes: an error must never need a pool block. Answers to errors that are
 * made once and reused (a missing token, an unknown method: the paths an abusive client keeps
 * hot) are built once per wire and shared, so refusing costs no allocation.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import { Answer, type CallAnswer, type HeaderPairs, NO_HEADERS } from "./answer.ts";
import type { BinaryWire } from "./binary_wire.ts";
import { MEDIA_TYPES, type WireKind } from "./media_type.ts";

const textEncoder = new TextEncoder();

/** The JSON body of an error: `{"error":{"code","message","details"}}`. */
export function errorJson(error: RpcError): string {
  return JSON.stringify({
    error: { code: error.code, message: error.message, details: error.details ?? {} },
  });
}

/** Retry-After fields per seconds value (a handful of values: bounded). */
const retryFields = new Map<number, HeaderPairs>();

/** The header fields an error's answer carries besides the content type. */
export function errorFields(error: RpcError): HeaderPairs {
  const seconds = error.retryAfterSeconds;
  if (seconds === null) return error.httpStatus === 405 ? ALLOW_POST : NO_HEADERS;
  let fields = retryFields.get(seconds);
  if (fields === undefined) {
    fields = Object.freeze([Object.freeze(["retry-after", String(seconds)] as const)]);
    if (retryFields.size < 16) retryFields.set(seconds, fields);
  }
  return fields;
}

/** `Allow` on a 405 under /rpc: what a method (or a batch) with side effects takes. */
const ALLOW_POST: HeaderPairs = Object.freeze([Object.freeze(["allow", "POST, OPTIONS"] as const)]);

/** `Allow` on a 405 for a side-effect-free method (it takes GET too). */
export const ALLOW_GET_POST: HeaderPairs = Object.freeze([
  Object.freeze(["allow", "GET, POST, OPTIONS"] as const),
]);

/**
 * Encodes errors for one service (the binary wire, or JSON only when it is null).
 *
 * @example
 * ```ts
 * const errors = new ErrorAnswers(binary);
 * const answer = errors.answer(new RpcError("not_found", "no such node"), "json");
 * ```
 */
export class ErrorAnswers {
  readonly #binary: BinaryWire | null;
  /** Shared answers of reused errors, per wire; bounded by the errors that are reused. */
  readonly #shared = new WeakMap<RpcError, { json?: CallAnswer; capnp?: CallAnswer }>();

  constructor(binary: BinaryWire | null) {
    this.#binary = binary;
  }

  /** The wire an error goes out in: the request's, JSON when unknown or when binary is off. */
  wireFor(wire: WireKind | null): WireKind {
    return wire === "capnp" && this.#binary !== null ? "capnp" : "json";
  }

  /** The error's body in `wire` (heap bytes). */
  body(error: RpcError, wire: WireKind, requestId = 0): Uint8Array<ArrayBuffer> {
    if (wire === "capnp" && this.#binary !== null) {
      return this.#binary.encodeError(requestId, error);
    }
    return textEncoder.encode(errorJson(error));
  }

  /**
   * A fresh answer to `error` (its release does nothing: heap bytes), with the fields its code
   * asks for unless `fields` are given.
   */
  answer(
    error: RpcError,
    wire: WireKind | null,
    requestId = 0,
    fields: HeaderPairs = errorFields(error),
  ): CallAnswer {
    const effective = this.wireFor(wire);
    const body = this.body(error, effective, requestId);
    return new Answer(error.httpStatus, MEDIA_TYPES[effective], body, { fields });
  }

  /**
   * The shared answer of an error object that is reused (a module-level constant or one cached
   * per principal): built once per wire (with `fields`, when given, the first time). Never for
   * errors carrying a request id.
   */
  shared(error: RpcError, wire: WireKind | null, fields?: HeaderPairs): CallAnswer {
    const effective = this.wireFor(wire);
    let byWire = this.#shared.get(error);
    if (byWire === undefined) {
      byWire = {};
      this.#shared.set(error, byWire);
    }
    return byWire[effective] ??= this.answer(error, effective, 0, fields);
  }
}
