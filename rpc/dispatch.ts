/**
 * `POST /rpc/:method`: one call, validated before any byte of its body is read.
 *
 * Order (DESIGN invariants 1 and 2): registry lookup → media type → declared size against the
 * method's limit → a lease of the fitting class → body streamed into the lease → decode →
 * handler (deadline + disconnect signal) → result encoded into a lease → one copy out → every
 * lease released, on every path.
 *
 * @module
 */

import type { Authenticator } from "./auth.ts";
import { readBodyInto } from "./body.ts";
import {
  type CallSignal,
  createCallSignal,
  errorJson,
  parseDecimalHeader,
  toRpcError,
} from "./call_context.ts";
import type { DeadlineScheduler } from "./deadlines.ts";
import { RpcError } from "./errors.ts";
import { checkJsonListLengths } from "./json_list_lengths.ts";
import type {
  AnyMethodSpec,
  HandlerContext,
  LeaseLike,
  MethodReadLimits,
  Services,
} from "./method.ts";
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

/** The binary (Cap'n Proto) half of the wire, provided by `rpc/binary_wire.ts`. */
export interface BinaryWire {
  /**
   * Validates a framed RpcRequest's envelope and looks its methodName up in the registry by its
   * bytes (no string decode): methodId is METHOD_ID_NONE for an unknown name. Throws RpcError
   * invalid_argument on a bad frame or envelope.
   */
  readCall(bytes: Uint8Array): BinaryCall;
  /** Decodes the params of a call read by `readCall` with the method's codec and limits. */
  decodeParams(call: BinaryCall, spec: AnyMethodSpec, limits?: MethodReadLimits | null): unknown;
  /** Encodes a framed RpcResponse with `result` into a lease and returns one copy of it. */
  encodeResult(requestId: number, spec: AnyMethodSpec, result: unknown): Uint8Array<ArrayBuffer>;
  /** Encodes a framed RpcResponse carrying `error` (heap memory: errors must not need the pool). */
  encodeError(requestId: number, error: RpcError): Uint8Array<ArrayBuffer>;
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

const textDecoder = new TextDecoder("utf-8", { fatal: true });
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

/** The media type of a request, or null for an unsupported one. */
export function wireKindOf(contentType: string | null): WireKind | null {
  if (contentType === null) return null;
  if (contentType.startsWith(MEDIA_TYPES.capnp)) return "capnp";
  if (contentType.startsWith(MEDIA_TYPES.json)) return "json";
  return null;
}

/** An error response in the request's wire form, with the code's HTTP status. */
export function errorResponse(
  error: RpcError,
  wire: WireKind,
  deps: DispatchDeps,
  requestId = 0,
): Response {
  const headers = new Headers();
  for (const [name, value] of deps.extraHeaders ?? NO_HEADERS) headers.set(name, value);
  if (error.code === "unavailable") headers.set("retry-after", "1");
  let body: Uint8Array<ArrayBuffer>;
  if (wire === "capnp" && deps.binary !== null) {
    headers.set("content-type", MEDIA_TYPES.capnp);
    body = deps.binary.encodeError(requestId, error);
  } else {
    headers.set("content-type", MEDIA_TYPES.json);
    body = textEncoder.encode(errorJson(error));
  }
  // Explicit, so the request log can report the bytes of an error answer.
  headers.set("content-length", String(body.length));
  return new Response(body, { status: error.httpStatus, headers });
}

/** The body of the unknown-method answer per wire, built once (no error object per request). */
const unknownBodies = new WeakMap<DispatchDeps, Record<WireKind, Uint8Array<ArrayBuffer>>>();

/**
 * The 501 answer to an unknown method. The rejection path is hot under abuse, so its bodies are
 * encoded once per app (heap bytes, not pool memory) and each Response copies them.
 */
function unknownMethodResponse(wire: WireKind, deps: DispatchDeps): Response {
  let bodies = unknownBodies.get(deps);
  if (bodies === undefined) {
    const error = new RpcError("unimplemented", "Cannot call: unknown method");
    bodies = {
      json: textEncoder.encode(errorJson(error)),
      capnp: deps.binary?.encodeError(0, error) ?? textEncoder.encode(errorJson(error)),
    };
    unknownBodies.set(deps, bodies);
  }
  const init = wire === "capnp" && deps.binary !== null ? UNKNOWN_INIT.capnp : UNKNOWN_INIT.json;
  // No copy here: the Response constructor copies a BufferSource body itself (Fetch: "extract a
  // body" takes a copy of the bytes), so the shared heap bytes never reach the transport.
  return withHeaders(new Response(bodies[wire], init), deps.extraHeaders ?? NO_HEADERS);
}

/**
 * Takes a lease of at least `sizeBytes`, or throws RpcError unavailable (503, pool exhausted) or
 * resource_exhausted (larger than the largest block).
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

/** The number of UTF-8 bytes of `text` (no allocation). */
export function utf8LengthBytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Encodes `text` into a lease and returns one copy of the bytes (the transport's chunk). */
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
    deps.metrics.recordRejected("unknown_method");
    return unknownMethodResponse(wireKindOf(request.headers.get("content-type")) ?? "json", deps);
  }
  return dispatchKnown(request, methodId, deps);
}

/** What one call learned on its way, for error responses and the request log. */
interface CallState {
  requestId: number;
  bytesIn: number;
  bytesOut: number;
}

/** A call of a known method, in an OpenTelemetry span when tracing is on. */
function dispatchKnown(request: Request, methodId: number, deps: DispatchDeps): Promise<Response> {
  const tracer = deps.tracer;
  if (tracer === undefined || tracer === null) return serveKnown(request, methodId, deps);
  const name = deps.registry.get(methodId).name;
  return tracer.inSpan(`rpc ${name}`, async (span) => {
    span.setAttribute("rpc.system", "worknode");
    span.setAttribute("rpc.method", name);
    const response = await serveKnown(request, methodId, deps);
    span.setAttribute("http.response.status_code", response.status);
    return response;
  });
}

/**
 * A call of a known method: everything after the lookup, with auth, metrics, the request log and
 * error mapping. The token is checked first, so a rejected call never reads its body or takes a
 * block.
 */
async function serveKnown(
  request: Request,
  methodId: number,
  deps: DispatchDeps,
): Promise<Response> {
  const startMs = performance.now();
  const contentType = request.headers.get("content-type");
  const wire = wireKindOf(contentType);
  let code: RpcError["code"] | "ok" = "ok";
  const state: CallState = { requestId: 0, bytesIn: 0, bytesOut: 0 };
  let response: Response | null = null;
  try {
    const auth = deps.auth;
    if (auth !== undefined && auth !== null) {
      const mutating = deps.registry.get(methodId).mutating;
      const denied = auth.check(request.headers.get("authorization"), mutating);
      if (denied !== null) {
        deps.metrics.recordRejected(denied.code as "unauthenticated" | "permission_denied");
        throw denied;
      }
    }
    if (wire === null || (wire === "capnp" && deps.binary === null)) {
      deps.metrics.recordRejected("unsupported_media_type");
      throw new RpcError("invalid_argument", `Cannot call: unsupported media type ${contentType}`, {
        httpStatus: 415,
      });
    }
    response = await callWithBody(request, methodId, wire, deps, state);
    return response;
  } catch (thrown) {
    const error = toRpcError(thrown, false);
    code = error.code;
    response = errorResponse(error, wire ?? "json", deps, state.requestId);
    return response;
  } finally {
    const durationMs = performance.now() - startMs;
    deps.metrics.recordRequest(methodId, code, durationMs / 1000);
    const log = deps.requestLog;
    if (log !== undefined && log !== null) {
      log.record({
        method: deps.registry.get(methodId).name,
        code,
        httpStatus: response?.status ?? 500,
        durationMs,
        bytesIn: state.bytesIn,
        bytesOut: state.bytesOut || Number(response?.headers.get("content-length") ?? 0),
        leasesHeld: deps.services.pool.inUseCount(),
        transport: deps.transport ?? "h1",
      });
    }
  }
}

/** Size check, lease, body, decode, handler, encode: for a known method and media type. */
async function callWithBody(
  request: Request,
  methodId: number,
  wire: WireKind,
  deps: DispatchDeps,
  state: CallState,
): Promise<Response> {
  const spec = deps.registry.get(methodId);
  const limitBytes = deps.requestBytesMax[methodId];
  const declared = parseDecimalHeader("Content-Length", request.headers.get("content-length"));
  if (declared !== null && declared > limitBytes) {
    deps.metrics.recordRejected("too_large");
    throw new RpcError(
      "resource_exhausted",
      `Cannot call ${spec.name}: request of ${declared} bytes exceeds ${limitBytes}`,
      { httpStatus: 413 },
    );
  }
  const timeoutHeader = parseDecimalHeader("Rpc-Timeout-Ms", request.headers.get("rpc-timeout-ms"));
  const timeoutMax = deps.services.config.rpcTimeoutMsMax;
  const timeoutMs = Math.max(1, Math.min(timeoutHeader ?? timeoutMax, timeoutMax));
  const call = createCallSignal(timeoutMs, deps.deadlines);
  let requestLease: LeaseLike | null = null;
  try {
    const sizeBytes = declared ?? limitBytes;
    if (sizeBytes > 0) {
      requestLease = deps.services.pool.tryAcquire(sizeBytes);
      if (requestLease === null) {
        deps.metrics.recordRejected("pool_exhausted");
        throw new RpcError("unavailable", `Cannot call ${spec.name}: pool exhausted, retry`);
      }
    }
    const target = requestLease?.bytes ?? new Uint8Array(0);
    const lengthBytes = declared !== null && declared <= BODY_BUFFERED_BYTES_MAX
      ? await readSmallBody(request, target, declared, call)
      : await readBodyInto(request.body, target, {
        limitBytes: sizeBytes,
        declaredBytes: declared,
        signal: call.signal,
      }).catch(bodyError);
    const bytes = target.subarray(0, lengthBytes);
    state.bytesIn = lengthBytes;
    // Decoded params are plain heap values (Data and Text are copied out), so the request block
    // goes back to the pool before the handler runs.
    let params: unknown;
    if (wire === "json") {
      params = decodeJsonParams(spec, bytes, deps.readLimits?.[methodId]);
    } else {
      const call = deps.binary!.readCall(bytes);
      // A binary error response from here on carries the call's requestId.
      state.requestId = call.requestId;
      if (call.methodId !== methodId) {
        throw new RpcError(
          "invalid_argument",
          `Cannot call ${spec.name}: the envelope's methodName names another method`,
        );
      }
      params = deps.binary!.decodeParams(call, spec, deps.readLimits?.[methodId]);
    }
    requestLease?.release();
    requestLease = null;
    const ctx = new LazyHandlerContext(call, deps.services);
    // A synchronous handler (system.*) needs no race against the signal.
    const running = runHandler(spec, params, ctx);
    let result = running;
    if (running instanceof Promise) {
      call.watchClient(request.signal);
      result = await call.race(running);
    }
    if (wire === "json") {
      const body = textViaLease(deps.services, JSON.stringify(spec.result.toJson(result)));
      state.bytesOut = body.length;
      return withHeaders(new Response(body, RESPONSE_INIT.json), deps.extraHeaders ?? NO_HEADERS);
    }
    const body = deps.binary!.encodeResult(state.requestId, spec, result);
    state.bytesOut = body.length;
    return withHeaders(new Response(body, RESPONSE_INIT.capnp), deps.extraHeaders ?? NO_HEADERS);
  } finally {
    requestLease?.release();
    call.dispose();
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
  call: CallSignal,
): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await call.race(request.bytes());
  } catch (error) {
    return bodyError(error);
  }
  if (bytes.length !== declaredBytes) {
    throw new RpcError(
      "invalid_argument",
      `Cannot read body: got ${bytes.length} bytes, Content-Length said ${declaredBytes}`,
    );
  }
  target.set(bytes);
  return bytes.length;
}

/** A transport failure while reading the body (connection lost) is canceled, not internal. */
function bodyError(error: unknown): never {
  if (error instanceof RpcError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  throw new RpcError("canceled", `Cannot read body: ${message}`, { cause: error });
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

/** Runs a handler: its value, or its promise (a synchronous throw propagates as is). */
function runHandler(
  spec: AnyMethodSpec,
  params: unknown,
  ctx: Parameters<AnyMethodSpec["handle"]>[1],
): unknown {
  return spec.handle(params, ctx);
}
