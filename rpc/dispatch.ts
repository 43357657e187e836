/**
 * `POST /rpc/:method` over Deno.serve: one call, validated before any byte of its body is read.
 *
 * The call itself is transport-neutral (`call.ts`: lookup → media type → declared size against
 * the method's limit → a lease of the fitting class → body into the lease → decode → handler →
 * result encoded into a lease); this file adapts a `Request` to it and copies the answer once
 * into a `Response`. The plaintext HTTP/1.1 and HTTP/3 servers use `call.ts` directly.
 *
 * @module
 */

import type { Authenticator } from "./auth.ts";
import { readBodyInto } from "./body.ts";
import {
  acquireOrUnavailable,
  type CallAnswer,
  type CallBodyReadOptions,
  type CallHead,
  type CallInput,
  errorBody,
  serveCall,
  unknownMethodAnswer,
  utf8LengthBytes,
} from "./call.ts";
import type { DeadlineScheduler } from "./deadlines.ts";
import { RpcError } from "../errors/rpc_error.ts";
import type { AnyMethodSpec, LeaseLike, MethodReadLimits, Services } from "./method.ts";
import type { RpcMetrics } from "./metrics.ts";
import { METHOD_ID_NONE, type MethodRegistry } from "./registry.ts";
import type { RequestLog, Transport } from "./request_log.ts";
import type { RpcTracer } from "./tracing.ts";
import {
  type HeaderPairs,
  MEDIA_TYPES,
  NO_HEADERS,
  RESPONSE_INIT,
  UNKNOWN_INIT,
  type WireKind,
  withHeaders,
} from "./response_inits.ts";

export { MEDIA_TYPES, type WireKind } from "./response_inits.ts";
export { acquireOrUnavailable, utf8LengthBytes, wireKindOf } from "./call.ts";

/** The binary (Cap'n Proto) half of the wire, provided by `rpc/binary_wire.ts`. */
export interface BinaryWire {
  /**
   * Validates a framed RpcRequest's envelope and looks its methodName up in the registry by its
   * bytes (no string decode): methodId is METHOD_ID_NONE for an unknown name. Throws RpcError
   * invalid_argument on a bad frame or envelope.
   */
  readCall(bytes: Uint8Array): BinaryCall;
  /** Decodes the params of a call read by `readCall` with the method's codec and limits. */
  decodeParams(call: BinaryCall, spec: AnyMethodSpec, options?: DecodeParamsOptions): unknown;
  /** Encodes a framed RpcResponse with `result` into a lease and returns one copy of it. */
  encodeResult(requestId: number, spec: AnyMethodSpec, result: unknown): Uint8Array<ArrayBuffer>;
  /**
   * Encodes a framed RpcResponse with `result` into a lease and hands the lease over (the caller
   * writes its first `lengthBytes` and releases it). Throws RpcError unavailable/resource_exhausted.
   */
  encodeResultLease(requestId: number, spec: AnyMethodSpec, result: unknown): EncodedLease;
  /** Encodes a framed RpcResponse carrying `error` (heap memory: errors must not need the pool). */
  encodeError(requestId: number, error: RpcError): Uint8Array<ArrayBuffer>;
}

/** Options of `BinaryWire.decodeParams`. */
export interface DecodeParamsOptions {
  /** The method's decode limits under the plan; null/absent = the defaults. */
  readonly limits?: MethodReadLimits | null;
  /** Data fields as views of the request bytes (see `MethodSpec.paramsDataViews`). */
  readonly dataViews?: boolean;
}

/** An encoded message in a lease: its bytes are `lease.bytes.subarray(0, lengthBytes)`. */
export interface EncodedLease {
  readonly lease: LeaseLike;
  readonly lengthBytes: number;
}

/** A binary call whose envelope was read; the params are not decoded yet. */
export interface BinaryCall {
  readonly requestId: number;
  readonly methodId: number;
  /** The codec's envelope (opaque to dispatch). */
  readonly envelope: unknown;
}

/** Everything dispatch needs; built once at boot. */
export interface DispatchDeps {
  readonly registry: MethodRegistry;
  readonly services: Services;
  readonly metrics: RpcMetrics;
  /** Per method id: the request size limit, clamped to the largest pool block. */
  readonly requestBytesMax: readonly number[];
  /** Per method id: the decode limits under the plan (null = the defaults); absent = none. */
  readonly readLimits?: readonly (MethodReadLimits | null)[];
  /** Null when the binary codec is not available (JSON only). */
  readonly binary: BinaryWire | null;
  /** The app's deadline timer. */
  readonly deadlines: DeadlineScheduler;
  // --- auth, request log, tracing (server/ wiring; absent = off) ---
  /** Bearer-token checks; null/absent = no auth (tests and benches that are not about auth). */
  readonly auth?: Authenticator | null;
  /** One JSON line per request; null/absent when the log level is above info. */
  readonly requestLog?: RequestLog | null;
  /** OpenTelemetry spans; null/absent when OTel is off. */
  readonly tracer?: RpcTracer | null;
  /** How requests reach these deps (for the request log); default "h1". */
  readonly transport?: Transport;
  // --- end auth, request log, tracing ---
  /** Headers set on every answer (e.g. Alt-Svc); default none. */
  readonly extraHeaders?: HeaderPairs;
}

const textEncoder = new TextEncoder();

/**
 * The largest declared body read with `Request.bytes()` instead of a stream reader. Deno.serve
 * already holds a small keep-alive POST body as one buffer; `bytes()` hands that buffer over
 * as is, while `request.body` wraps it in a ReadableStream first (measured: the stream, its
 * reader and read promises were ~20% of an echo call's JS time). The buffer is no larger than
 * the one chunk a stream reader would get, so no body larger than this ever sits in the heap
 * whole; bigger or undeclared bodies stream chunk by chunk into the lease.
 */
export const BODY_BUFFERED_BYTES_MAX = 4096;

/**
 * An error response in the request's wire form, with the code's HTTP status.
 *
 * @example
 * ```ts
 * return errorResponse(new RpcError("invalid_argument", "bad batch"), "json", deps);
 * ```
 */
export function errorResponse(
  error: RpcError,
  wire: WireKind,
  deps: DispatchDeps,
  requestId = 0,
): Response {
  const headers = new Headers();
  for (const [name, value] of deps.extraHeaders ?? NO_HEADERS) headers.set(name, value);
  if (error.code === "unavailable") headers.set("retry-after", "1");
  const effective = wire === "capnp" && deps.binary !== null ? "capnp" : "json";
  const body = errorBody(error, effective, deps, { requestId });
  headers.set("content-type", MEDIA_TYPES[effective]);
  // Explicit, so the request log can report the bytes of an error answer.
  headers.set("content-length", String(body.length));
  return new Response(body, { status: error.httpStatus, headers });
}

/**
 * Encodes `text` into a lease and returns one copy of the bytes (the transport's chunk).
 *
 * @example
 * ```ts
 * const bytes = textViaLease(services, JSON.stringify(value));
 * ```
 */
export function textViaLease(services: Services, text: string): Uint8Array<ArrayBuffer> {
  const n = utf8LengthBytes(text);
  if (n === 0) return new Uint8Array(0);
  const lease = acquireOrUnavailable(services, n);
  try {
    textEncoder.encodeInto(text, lease.bytes);
    return lease.bytes.slice(0, n);
  } finally {
    lease.release();
  }
}

/**
 * Serves one `POST /rpc/:method` call.
 *
 * @example
 * ```ts
 * app.post("/rpc/:method", (c) => dispatchCall(c.req.raw, c.req.param("method"), deps));
 * ```
 */
export function dispatchCall(
  request: Request,
  methodName: string,
  deps: DispatchDeps,
): Response | Promise<Response> {
  const methodId = deps.registry.lookup(methodName);
  if (methodId === METHOD_ID_NONE) {
    // Synchronous on purpose: Deno.serve answers a non-promise Response on its fast path.
    return answerResponse(unknownMethodAnswer(request.headers.get("content-type"), deps), deps);
  }
  const outcome = serveCall(methodId, new RequestCallInput(request), deps);
  return outcome instanceof Promise
    ? outcome.then((answer) => answerResponse(answer, deps))
    : answerResponse(outcome, deps);
}

/** Shared 200 inits per content type (the Response constructor copies an init). */
const OK_INITS: Readonly<Record<string, ResponseInit>> = {
  [MEDIA_TYPES.capnp]: RESPONSE_INIT.capnp,
  [MEDIA_TYPES.json]: RESPONSE_INIT.json,
};

/**
 * The answer as a Response: its bytes copied once (DESIGN invariant 4: no pool view reaches a
 * Response body), then the answer released.
 */
function answerResponse(answer: CallAnswer, deps: DispatchDeps): Response {
  try {
    const extra = deps.extraHeaders ?? NO_HEADERS;
    const body = answer.body.slice();
    if (answer.status === 501) {
      // The unknown-method answer: a shared init keeps the Response constructor's fast path.
      const init = answer.contentType === MEDIA_TYPES.capnp
        ? UNKNOWN_INIT.capnp
        : UNKNOWN_INIT.json;
      return withHeaders(new Response(body, init), extra);
    }
    if (answer.status === 200) {
      return withHeaders(new Response(body, OK_INITS[answer.contentType]), extra);
    }
    const headers = new Headers();
    for (const [name, value] of extra) headers.set(name, value);
    if (answer.retryAfterSeconds !== null) {
      headers.set("retry-after", String(answer.retryAfterSeconds));
    }
    headers.set("content-type", answer.contentType);
    headers.set("content-length", String(body.length));
    return new Response(body, { status: answer.status, headers });
  } finally {
    answer.release();
  }
}

/** A `Request` as a call's input: header values on demand, body via bytes() or its stream. */
class RequestCallInput implements CallInput {
  readonly head: CallHead;
  readonly #request: Request;

  constructor(request: Request) {
    this.#request = request;
    const headers = request.headers;
    this.head = {
      contentType: headers.get("content-type"),
      contentLength: headers.get("content-length"),
      rpcTimeoutMs: headers.get("rpc-timeout-ms"),
      authorization: headers.get("authorization"),
    };
  }

  readBody(target: Uint8Array, options: CallBodyReadOptions): Promise<number> {
    const declared = options.declaredBytes;
    if (declared !== null && declared <= BODY_BUFFERED_BYTES_MAX) {
      return readSmallBody(this.#request, target, declared, options);
    }
    return readBodyInto(this.#request.body, target, {
      limitBytes: options.limitBytes,
      declaredBytes: declared,
      signal: options.call.signal,
    });
  }

  clientSignal(): AbortSignal {
    return this.#request.signal;
  }
}

/**
 * Reads a small body of `declaredBytes` (at most BODY_BUFFERED_BYTES_MAX) with one
 * `Request.bytes()` and copies it into `target` (the lease view). The deadline or a lost
 * connection ends the wait like a stream read would.
 */
async function readSmallBody(
  request: Request,
  target: Uint8Array,
  declaredBytes: number,
  options: CallBodyReadOptions,
): Promise<number> {
  const bytes = await options.call.race(request.bytes());
  if (bytes.length !== declaredBytes) {
    throw new RpcError(
      "invalid_argument",
      `Cannot read body: got ${bytes.length} bytes, Content-Length said ${declaredBytes}`,
    );
  }
  target.set(bytes);
  return bytes.length;
}
