/**
 * One call of a known method, independent of the transport: auth, media type, the declared size
 * against the method's limit, a lease of the fitting class, the body read into the lease, decode,
 * handler (deadline + disconnect), the result encoded into a lease, metrics, request log, tracing.
 *
 * A transport hands over the few header values a call needs (`CallHead`) and a way to read the
 * body into a lease (`CallInput.readBody`), and gets back a `CallAnswer` whose body may be a view
 * of a pool lease: it writes or copies those bytes, then releases the answer. The Deno.serve side
 * (`dispatch.ts`) wraps a `Request` this way and copies the answer into a `Response`; the HTTP/3
 * and plaintext HTTP/1.1 servers write the answer without any Request or Response object.
 *
 * @module
 */

import {
  type CallSignal,
  createCallSignal,
  errorJson,
  parseDecimalHeader,
  toRpcError,
} from "./call_context.ts";
import type { DispatchDeps } from "./dispatch.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { checkJsonListLengths } from "./json_list_lengths.ts";
import type {
  AnyMethodSpec,
  HandlerContext,
  LeaseLike,
  MethodReadLimits,
  Services,
} from "./method.ts";
import { MEDIA_TYPES, type WireKind } from "./response_inits.ts";

/** The request header values a call needs, read by the transport before any body byte. */
export interface CallHead {
  /** Raw Content-Type. */
  readonly contentType: string | null;
  /** Raw Content-Length (validated here). */
  readonly contentLength: string | null;
  /** Raw Rpc-Timeout-Ms. */
  readonly rpcTimeoutMs: string | null;
  /** Raw Authorization. */
  readonly authorization: string | null;
}

/** Options of `CallInput.readBody`. */
export interface CallBodyReadOptions {
  /** At most this many bytes: more is RpcError resource_exhausted with httpStatus 413. */
  readonly limitBytes: number;
  /** The parsed Content-Length, or null: a body of another length is invalid_argument. */
  readonly declaredBytes: number | null;
  /** The deadline/disconnect signal: race every await with `call.race(p)`. */
  readonly call: CallSignal;
}

/** One call's input as the transport provides it. */
export interface CallInput {
  readonly head: CallHead;
  /**
   * Reads the whole body into `target` (a lease view, at least `limitBytes` long) and gives its
   * length: a number when the body was already at hand, else a promise. A lost connection
   * rejects (mapped to canceled).
   */
  readBody(target: Uint8Array, options: CallBodyReadOptions): number | Promise<number>;
  /** The client's abort signal, watched only while an asynchronous handler runs; null = none. */
  clientSignal(): AbortSignal | null;
}

/** A call's answer: write or copy `body`, then `release()`. */
export interface CallAnswer {
  /** HTTP status: 200, or the error's status. */
  readonly status: number;
  /** `application/capnp` or `application/json`. */
  readonly contentType: string;
  /** Non-null for 503 unavailable: the transport sends Retry-After. */
  readonly retryAfterSeconds: number | null;
  /** Heap bytes or a view of a pool lease; valid until `release()`. Never mutate it. */
  readonly body: Uint8Array;
  /** Returns the answer's block (if any) to the pool. Idempotent. */
  release(): void;
}

/** The Retry-After of an unavailable answer: the pool frees blocks within a call's time. */
export const RETRY_AFTER_SECONDS = 1;

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

/** An answer over heap bytes or a lease; `release` returns the lease once. */
class Answer implements CallAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly retryAfterSeconds: number | null;
  readonly body: Uint8Array;
  #lease: LeaseLike | null;

  constructor(status: number, wire: WireKind, body: Uint8Array, lease: LeaseLike | null = null) {
    this.status = status;
    this.contentType = MEDIA_TYPES[wire];
    this.retryAfterSeconds = status === 503 ? RETRY_AFTER_SECONDS : null;
    this.body = body;
    this.#lease = lease;
  }

  release(): void {
    const lease = this.#lease;
    this.#lease = null;
    lease?.release();
  }
}

/** The media type of a request, or null for an unsupported one. */
export function wireKindOf(contentType: string | null): WireKind | null {
  if (contentType === null) return null;
  if (contentType.startsWith(MEDIA_TYPES.capnp)) return "capnp";
  if (contentType.startsWith(MEDIA_TYPES.json)) return "json";
  return null;
}

/**
 * The body of an error in the request's wire form (heap memory: errors must not need the pool).
 *
 * @example
 * ```ts
 * const bytes = errorBody(new RpcError("not_found", "no such node"), "json", deps);
 * ```
 */
export function errorBody(
  error: RpcError,
  wire: WireKind,
  deps: DispatchDeps,
  options: { requestId?: number } = {},
): Uint8Array<ArrayBuffer> {
  if (wire === "capnp" && deps.binary !== null) {
    return deps.binary.encodeError(options.requestId ?? 0, error);
  }
  return textEncoder.encode(errorJson(error));
}

/** An error answer in `wire` (JSON when the binary wire is off). */
function errorAnswer(error: RpcError, wire: WireKind, deps: DispatchDeps, requestId: number) {
  const effective = wire === "capnp" && deps.binary === null ? "json" : wire;
  return new Answer(error.httpStatus, effective, errorBody(error, effective, deps, { requestId }));
}

/** The unknown-method bodies per app, built once (the rejection path is hot under abuse). */
const unknownBodies = new WeakMap<DispatchDeps["metrics"], Record<WireKind, Uint8Array>>();

/**
 * The 501 answer to an unknown method: shared heap bytes, no lease (`release` does nothing).
 * Records the rejection.
 *
 * @example
 * ```ts
 * if (deps.registry.lookup(name) === METHOD_ID_NONE) return unknownMethodAnswer(type, deps);
 * ```
 */
export function unknownMethodAnswer(contentType: string | null, deps: DispatchDeps): CallAnswer {
  deps.metrics.recordRejected("unknown_method");
  let bodies = unknownBodies.get(deps.metrics);
  if (bodies === undefined) {
    const error = new RpcError("unimplemented", "Cannot call: unknown method");
    bodies = { json: errorBody(error, "json", deps), capnp: errorBody(error, "capnp", deps) };
    unknownBodies.set(deps.metrics, bodies);
  }
  const wire = wireKindOf(contentType) === "capnp" && deps.binary !== null ? "capnp" : "json";
  return new Answer(501, wire, bodies[wire]);
}

/**
 * Serves one call of a known method id. Never rejects: every failure becomes an error answer.
 * Synchronous when it can be: a body the transport already holds and a synchronous handler
 * (`system.*`) give the answer without a promise (each async level costs a few hundred ns of a
 * ~10 µs call, measured on the plaintext HTTP/1.1 echo).
 *
 * @example
 * ```ts
 * const answer = await serveCall(methodId, input, deps);
 * try { await write(answer.body); } finally { answer.release(); }
 * ```
 */
export function serveCall(
  methodId: number,
  input: CallInput,
  deps: DispatchDeps,
): CallAnswer | Promise<CallAnswer> {
  const tracer = deps.tracer;
  if (tracer === undefined || tracer === null) return serveLogged(methodId, input, deps);
  const name = deps.registry.get(methodId).name;
  return tracer.inSpan(`rpc ${name}`, async (span) => {
    span.setAttribute("rpc.system", "worknode");
    span.setAttribute("rpc.method", name);
    const answer = await serveLogged(methodId, input, deps);
    span.setAttribute("http.response.status_code", answer.status);
    return answer;
  });
}

/** What one call learned on its way, for error answers, metrics and the request log. */
class CallState {
  readonly methodId: number;
  readonly wire: WireKind | null;
  readonly startMs: number;
  requestId = 0;
  bytesIn = 0;

  constructor(methodId: number, wire: WireKind | null) {
    this.methodId = methodId;
    this.wire = wire;
    this.startMs = performance.now();
  }
}

/** A call with error mapping, metrics and the request log. */
function serveLogged(
  methodId: number,
  input: CallInput,
  deps: DispatchDeps,
): CallAnswer | Promise<CallAnswer> {
  const state = new CallState(methodId, wireKindOf(input.head.contentType));
  let outcome: CallAnswer | Promise<CallAnswer>;
  try {
    checkAccess(methodId, input.head, state.wire, deps);
    outcome = callWithBody(input, state, deps);
  } catch (thrown) {
    return failed(thrown, state, deps);
  }
  if (outcome instanceof Promise) {
    return outcome.then((answer) => finished(answer, state, deps), (e) => failed(e, state, deps));
  }
  return finished(outcome, state, deps);
}

/** The error answer of a failed call, recorded. */
function failed(thrown: unknown, state: CallState, deps: DispatchDeps): CallAnswer {
  const error = toRpcError(thrown, false);
  const answer = errorAnswer(error, state.wire ?? "json", deps, state.requestId);
  return finished(answer, state, deps, error.code);
}

/** Records the call (metrics, request log) and returns its answer. */
function finished(
  answer: CallAnswer,
  state: CallState,
  deps: DispatchDeps,
  code: RpcError["code"] | "ok" = "ok",
): CallAnswer {
  const durationMs = performance.now() - state.startMs;
  deps.metrics.recordRequest(state.methodId, code, durationMs / 1000);
  const log = deps.requestLog;
  if (log !== undefined && log !== null) {
    log.record({
      method: deps.registry.get(state.methodId).name,
      code,
      httpStatus: answer.status,
      durationMs,
      bytesIn: state.bytesIn,
      bytesOut: answer.body.length,
      leasesHeld: deps.services.pool.inUseCount(),
      transport: deps.transport ?? "h1",
    });
  }
  return answer;
}

/** The token first (a rejected call never reads its body), then the media type. */
function checkAccess(
  methodId: number,
  head: CallHead,
  wire: WireKind | null,
  deps: DispatchDeps,
): void {
  const auth = deps.auth;
  if (auth !== undefined && auth !== null) {
    const denied = auth.check(head.authorization, deps.registry.get(methodId).mutating);
    if (denied !== null) {
      deps.metrics.recordRejected(denied.code as "unauthenticated" | "permission_denied");
      throw denied;
    }
  }
  if (wire === null || (wire === "capnp" && deps.binary === null)) {
    deps.metrics.recordRejected("unsupported_media_type");
    throw new RpcError(
      "invalid_argument",
      `Cannot call: unsupported media type ${head.contentType}`,
      { httpStatus: 415 },
    );
  }
}

/** The declared size against the method's limit (413 before any block is taken). */
function declaredSize(methodId: number, head: CallHead, deps: DispatchDeps): number | null {
  const limitBytes = deps.requestBytesMax[methodId];
  const declared = parseDecimalHeader("Content-Length", head.contentLength);
  if (declared !== null && declared > limitBytes) {
    deps.metrics.recordRejected("too_large");
    const name = deps.registry.get(methodId).name;
    throw new RpcError(
      "resource_exhausted",
      `Cannot call ${name}: request of ${declared} bytes exceeds ${limitBytes}`,
      { httpStatus: 413 },
    );
  }
  return declared;
}

/** The per-call plumbing from the size check on (see `callWithBody`). */
interface CallOptions {
  readonly wire: WireKind;
  readonly declared: number | null;
  readonly call: CallSignal;
  readonly state: CallState;
  /** The request block, when the params view it (released after the handler settled). */
  held: LeaseLike | null;
}

/** Size check, lease, body, decode, handler, encode: for a known method and media type. */
function callWithBody(
  input: CallInput,
  state: CallState,
  deps: DispatchDeps,
): CallAnswer | Promise<CallAnswer> {
  const declared = declaredSize(state.methodId, input.head, deps);
  const timeoutHeader = parseDecimalHeader("Rpc-Timeout-Ms", input.head.rpcTimeoutMs);
  const timeoutMax = deps.services.config.rpcTimeoutMsMax;
  const timeoutMs = Math.max(1, Math.min(timeoutHeader ?? timeoutMax, timeoutMax));
  const call = createCallSignal(timeoutMs, deps.deadlines);
  const options: CallOptions = { wire: state.wire!, declared, call, state, held: null };
  let params: unknown;
  try {
    params = readParams(input, options, deps);
  } catch (error) {
    call.dispose();
    throw error;
  }
  if (params instanceof Promise) {
    return params.then((p) => runHandler(p, input, options, deps), (error) => {
      call.dispose();
      throw error;
    });
  }
  return runHandler(params, input, options, deps);
}

/**
 * Runs the handler and encodes its result. A synchronous handler (system.*) needs no race
 * against the signal; the request block and the signal are let go on every path.
 */
function runHandler(
  params: unknown,
  input: CallInput,
  options: CallOptions,
  deps: DispatchDeps,
): CallAnswer | Promise<CallAnswer> {
  const spec = deps.registry.get(options.state.methodId);
  let running: unknown;
  try {
    running = spec.handle(params, new LazyHandlerContext(options.call, deps.services));
  } catch (error) {
    letGo(options);
    throw error;
  }
  if (running instanceof Promise) return awaitHandler(running, input, options, deps);
  try {
    return encodeAnswer(spec, running, { wire: options.wire, state: options.state }, deps);
  } finally {
    letGo(options);
  }
}

/** The rest of a call whose handler is asynchronous: raced against deadline and disconnect. */
async function awaitHandler(
  running: Promise<unknown>,
  input: CallInput,
  options: CallOptions,
  deps: DispatchDeps,
): Promise<CallAnswer> {
  try {
    const clientSignal = input.clientSignal();
    if (clientSignal !== null) options.call.watchClient(clientSignal);
    const result = await raceHolding(running, options);
    const spec = deps.registry.get(options.state.methodId);
    return encodeAnswer(spec, result, { wire: options.wire, state: options.state }, deps);
  } finally {
    letGo(options);
  }
}

/** Releases the request block (if the params viewed it) and the call's deadline entry. */
function letGo(options: CallOptions): void {
  const held = options.held;
  options.held = null;
  held?.release();
  options.call.dispose();
}

/**
 * Races a running handler against the call's signal. When the call ends first (deadline, client
 * gone) while the handler still holds views of the request block, the block goes back to the
 * pool only once the handler has settled, never under its feet.
 */
async function raceHolding<T>(running: Promise<T>, options: CallOptions): Promise<T> {
  try {
    return await options.call.race(running);
  } catch (error) {
    const held = options.held;
    if (held !== null) {
      options.held = null;
      running.then(() => held.release(), () => held.release());
    }
    throw error;
  }
}

/**
 * Takes the request block, reads the body into it and decodes the params: synchronously when
 * the transport already holds the body. Decoded params are plain heap values (Data and Text are
 * copied out), so the block goes back to the pool before the handler runs, unless the method
 * decodes Data as views of it (`paramsDataViews`, binary calls): then `options.held` keeps it
 * until the handler has settled.
 */
function readParams(input: CallInput, options: CallOptions, deps: DispatchDeps): unknown {
  const methodId = options.state.methodId;
  const sizeBytes = options.declared ?? deps.requestBytesMax[methodId];
  if (sizeBytes === 0) return decodeParams(new Uint8Array(0), options, deps);
  const lease = deps.services.pool.tryAcquire(sizeBytes);
  if (lease === null) {
    deps.metrics.recordRejected("pool_exhausted");
    const name = deps.registry.get(methodId).name;
    throw new RpcError("unavailable", `Cannot call ${name}: pool exhausted, retry`);
  }
  let reading: number | Promise<number>;
  try {
    reading = input.readBody(lease.bytes, {
      limitBytes: sizeBytes,
      declaredBytes: options.declared,
      call: options.call,
    });
  } catch (error) {
    lease.release();
    throw bodyError(error);
  }
  if (typeof reading === "number") return decodeInto(lease, reading, options, deps);
  return reading.then((n) => decodeInto(lease, n, options, deps), (error) => {
    lease.release();
    throw bodyError(error);
  });
}

/** Decodes the body in `lease`, then releases the lease or hands it to `options.held`. */
function decodeInto(
  lease: LeaseLike,
  lengthBytes: number,
  options: CallOptions,
  deps: DispatchDeps,
): unknown {
  let keep = false;
  try {
    options.state.bytesIn = lengthBytes;
    const params = decodeParams(lease.bytes.subarray(0, lengthBytes), options, deps);
    const spec = deps.registry.get(options.state.methodId);
    keep = options.wire === "capnp" && spec.paramsDataViews === true;
    if (keep) options.held = lease;
    return params;
  } finally {
    if (!keep) lease.release();
  }
}

/** A transport failure while reading the body (connection lost) is canceled, not internal. */
function bodyError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError("canceled", `Cannot read body: ${message}`, { cause: error });
}

/** Decodes the params in `wire` form; a binary envelope must name this very method. */
function decodeParams(bytes: Uint8Array, options: CallOptions, deps: DispatchDeps): unknown {
  const methodId = options.state.methodId;
  const spec = deps.registry.get(methodId);
  const limits = deps.readLimits?.[methodId];
  if (options.wire === "json") return decodeJsonParams(spec, bytes, limits);
  const binaryCall = deps.binary!.readCall(bytes);
  // A binary error answer from here on carries the call's requestId.
  options.state.requestId = binaryCall.requestId;
  if (binaryCall.methodId !== methodId) {
    throw new RpcError(
      "invalid_argument",
      `Cannot call ${spec.name}: the envelope's methodName names another method`,
    );
  }
  return deps.binary!.decodeParams(binaryCall, spec, {
    limits,
    dataViews: spec.paramsDataViews === true,
  });
}

/**
 * Parses the JSON params object (an empty body means `{}`), checks the method's list limit on
 * the parsed value, then decodes it; bad input is invalid_argument.
 */
function decodeJsonParams(
  spec: AnyMethodSpec,
  bytes: Uint8Array,
  limits: MethodReadLimits | null | undefined,
): unknown {
  try {
    const value = bytes.length === 0 ? {} : JSON.parse(textDecoder.decode(bytes));
    const lengthMax = limits?.listLengthMax;
    if (lengthMax !== undefined) checkJsonListLengths(value, lengthMax);
    return spec.params.fromJson(value);
  } catch (thrown) {
    throw toRpcError(thrown, true);
  }
}

/** The result encoded into a lease: the answer holds the lease until the transport is done. */
function encodeAnswer(
  spec: AnyMethodSpec,
  result: unknown,
  options: { wire: WireKind; state: CallState },
  deps: DispatchDeps,
): CallAnswer {
  if (options.wire === "json") {
    const text = JSON.stringify(spec.result.toJson(result));
    const { lease, lengthBytes } = textIntoLease(deps, text);
    return new Answer(200, "json", lease?.bytes.subarray(0, lengthBytes) ?? EMPTY, lease);
  }
  const { lease, lengthBytes } = deps.binary!.encodeResultLease(
    options.state.requestId,
    spec,
    result,
  );
  return new Answer(200, "capnp", lease.bytes.subarray(0, lengthBytes), lease);
}

const EMPTY = new Uint8Array(0);

/** The UTF-8 of `text` in a lease (null for empty text), or RpcError unavailable/too large. */
function textIntoLease(deps: DispatchDeps, text: string) {
  const lengthBytes = utf8LengthBytes(text);
  if (lengthBytes === 0) return { lease: null, lengthBytes };
  const lease = acquireOrUnavailable(deps.services, lengthBytes);
  textEncoder.encodeInto(text, lease.bytes);
  return { lease, lengthBytes };
}

/**
 * Takes a lease of at least `sizeBytes`, or throws RpcError unavailable (503, pool exhausted) or
 * resource_exhausted (larger than the largest block).
 *
 * @example
 * ```ts
 * const lease = acquireOrUnavailable(services, 4096);
 * ```
 */
export function acquireOrUnavailable(services: Services, sizeBytes: number): LeaseLike {
  let lease: LeaseLike | null;
  try {
    lease = services.pool.tryAcquire(sizeBytes);
  } catch (error) {
    // Larger than the largest block: the message cannot be held, so it is refused as too large.
    if (!(error instanceof RangeError)) throw error;
    throw new RpcError("resource_exhausted", `Cannot take a block: ${error.message}`, {
      cause: error,
    });
  }
  if (lease === null) {
    throw new RpcError("unavailable", `Cannot take a ${sizeBytes}-byte block: pool exhausted`);
  }
  return lease;
}

/**
 * The number of UTF-8 bytes of `text` (no allocation).
 *
 * @example
 * ```ts
 * utf8LengthBytes("héllo"); // 6
 * ```
 */
export function utf8LengthBytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair is one code point of 4 bytes; a lone surrogate becomes U+FFFD (3).
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * A handler's context whose `signal` getter defers the call's AbortController until a handler
 * asks for it. A class, because an object literal with a getter is built by a slow runtime path
 * on every call.
 */
class LazyHandlerContext implements HandlerContext {
  readonly deadlineAtMs: number;
  readonly services: Services;
  readonly #call: CallSignal;

  constructor(call: CallSignal, services: Services) {
    this.#call = call;
    this.deadlineAtMs = call.deadlineAtMs;
    this.services = services;
  }

  get signal(): AbortSignal {
    return this.#call.signal;
  }
}
