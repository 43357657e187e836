/**
 * `POST /rpc`: a batch of framed RpcRequests answered by framed RpcResponses in the same order.
 *
 * The whole batch is bounded in bytes (the plan's message maximum) and in calls
 * (`BATCH_CALLS_MAX`). Each call is looked up by its methodName bytes and checked against its
 * method's limit; a bad call gets its own error response and the others still run. Calls run one
 * after another, in order, so a batch of mutations has a defined outcome.
 *
 * @module
 */

import { readBodyInto } from "./body.ts";
import { createCallSignal, parseDecimalHeader, raceSignal, toRpcError } from "./call_context.ts";
import { acquireOrUnavailable, type DispatchDeps, errorResponse, wireKindOf } from "./dispatch.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { CapnpError, frameByteLength } from "../capnp/mod.ts";
import type { LeaseLike } from "./method.ts";
import { METHOD_ID_NONE } from "./registry.ts";
import { NO_HEADERS, RESPONSE_INIT, withHeaders } from "./response_inits.ts";

/** The most calls one batch may carry. */
export const BATCH_CALLS_MAX = 64;

/** The batch size limit: the plan's message maximum, clamped to the largest block. */
function batchBytesMax(deps: DispatchDeps): number {
  const classes = deps.services.plan.classes;
  const blockMax = classes.length === 0 ? 0 : classes[classes.length - 1].blockSizeBytes;
  return Math.min(deps.services.plan.messageBytesMax, blockMax);
}

/**
 * Serves one batch.
 *
 * @example
 * ```ts
 * app.post("/rpc", (c) => dispatchBatch(c.req.raw, deps));
 * ```
 */
export async function dispatchBatch(request: Request, deps: DispatchDeps): Promise<Response> {
  const binary = deps.binary;
  if (wireKindOf(request.headers.get("content-type")) !== "capnp" || binary === null) {
    deps.metrics.recordRejected("unsupported_media_type");
    const error = new RpcError("invalid_argument", "Cannot run batch: body must be capnp", {
      httpStatus: 415,
    });
    return errorResponse(error, "json", deps);
  }
  const timeoutMs = deps.services.config.rpcTimeoutMsMax;
  const authorization = request.headers.get("authorization");
  const startMs = performance.now();
  let bytesIn = 0;
  let lease: LeaseLike | null = null;
  try {
    // Auth before the body: without a valid token (and no public reads) no call of the batch
    // could run, so the batch is refused before it takes a block. Scopes are checked per call.
    if (deps.auth && !deps.auth.publicRead && deps.auth.identify(authorization) === null) {
      deps.metrics.recordRejected("unauthenticated");
      throw new RpcError("unauthenticated", "Cannot run batch: no valid bearer token");
    }
    const declared = parseDecimalHeader("Content-Length", request.headers.get("content-length"));
    const limitBytes = batchBytesMax(deps);
    if (declared !== null && declared > limitBytes) {
      deps.metrics.recordRejected("batch_too_large");
      throw new RpcError("resource_exhausted", `Cannot run batch: ${declared} > ${limitBytes}`, {
        httpStatus: 413,
      });
    }
    const sizeBytes = declared ?? limitBytes;
    if (sizeBytes === 0) throw new RpcError("invalid_argument", "Cannot run batch: empty body");
    lease = acquireOrUnavailable(deps.services, sizeBytes);
    const n = await readBodyInto(request.body, lease.bytes, {
      limitBytes: sizeBytes,
      declaredBytes: declared,
      signal: request.signal,
    });
    bytesIn = n;
    const bodies = await runCalls(lease.bytes.subarray(0, n), request, deps);
    const out = concat(bodies);
    logBatch(deps, { startMs, code: "ok", httpStatus: 200, bytesIn, bytesOut: out.length });
    return withHeaders(new Response(out, RESPONSE_INIT.capnp), deps.extraHeaders ?? NO_HEADERS);
  } catch (thrown) {
    const error = toRpcError(thrown, false);
    const response = errorResponse(error, "capnp", deps);
    const bytesOut = Number(response.headers.get("content-length") ?? 0);
    logBatch(deps, { startMs, code: error.code, httpStatus: response.status, bytesIn, bytesOut });
    return response;
  } finally {
    lease?.release();
  }

  /** Runs every call of the batch in order; one bad call yields its own error response. */
  async function runCalls(body: Uint8Array, req: Request, d: DispatchDeps): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset < body.length) {
      if (out.length >= BATCH_CALLS_MAX) {
        d.metrics.recordRejected("batch_too_large");
        throw new RpcError("resource_exhausted", `Cannot run batch: more than ${BATCH_CALLS_MAX}`, {
          httpStatus: 413,
        });
      }
      const length = frameLengthOrInvalid(body, offset);
      out.push(await runOne(body.subarray(offset, offset + length), req, d));
      offset += length;
    }
    return out;
  }

  /** One call of a batch: peek, size check, decode, handler, encode. */
  async function runOne(frame: Uint8Array, req: Request, d: DispatchDeps): Promise<Uint8Array> {
    const startMs = performance.now();
    let requestId = 0;
    let methodId = METHOD_ID_NONE;
    const call = createCallSignal(timeoutMs, d.deadlines);
    call.watchClient(req.signal);
    try {
      const binaryCall = binary!.readCall(frame);
      ({ requestId, methodId } = binaryCall);
      if (methodId === METHOD_ID_NONE) {
        d.metrics.recordRejected("unknown_method");
        throw new RpcError("unimplemented", "Cannot call: unknown method");
      }
      const spec = d.registry.get(methodId);
      const denied = d.auth ? d.auth.check(authorization, spec.mutating) : null;
      if (denied !== null) {
        d.metrics.recordRejected(denied.code as "unauthenticated" | "permission_denied");
        throw denied;
      }
      if (frame.length > d.requestBytesMax[methodId]) {
        d.metrics.recordRejected("too_large");
        throw new RpcError("resource_exhausted", `Cannot call ${spec.name}: request too large`);
      }
      const params = binary!.decodeParams(binaryCall, spec, { limits: d.readLimits?.[methodId] });
      const ctx = { signal: call.signal, deadlineAtMs: call.deadlineAtMs, services: d.services };
      const result = await raceSignal(
        Promise.resolve().then(() => spec.handle(params, ctx)),
        call.signal,
      );
      const bytes = binary!.encodeResult(requestId, spec, result);
      d.metrics.recordRequest(methodId, "ok", (performance.now() - startMs) / 1000);
      return bytes;
    } catch (thrown) {
      const error = toRpcError(thrown, false);
      d.metrics.recordRequest(methodId, error.code, (performance.now() - startMs) / 1000);
      return binary!.encodeError(requestId, error);
    } finally {
      call.dispose();
    }
  }
}

/** One request-log line for a batch (method "batch"), when the log is on. */
function logBatch(
  deps: DispatchDeps,
  line: { startMs: number; code: string; httpStatus: number; bytesIn: number; bytesOut: number },
): void {
  const log = deps.requestLog;
  if (log === undefined || log === null) return;
  log.record({
    method: "batch",
    code: line.code,
    httpStatus: line.httpStatus,
    durationMs: performance.now() - line.startMs,
    bytesIn: line.bytesIn,
    bytesOut: line.bytesOut,
    leasesHeld: deps.services.pool.inUseCount(),
    transport: deps.transport ?? "h1",
  });
}

/** Joins the response frames into the one chunk handed to the transport. */
function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The byte length of the frame at `offset`; a bad frame header is invalid_argument. */
function frameLengthOrInvalid(body: Uint8Array, offset: number): number {
  try {
    return frameByteLength(body, offset);
  } catch (error) {
    if (!(error instanceof CapnpError)) throw error;
    throw new RpcError("invalid_argument", `Cannot run batch: ${error.message}`);
  }
}
