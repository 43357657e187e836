/**
 * `POST /rpc`: a batch of framed RpcRequests, answered by framed RpcResponses in the same order.
 *
 * A batch goes through the call core like a single call (`core.ts`, `call.ts`): one lookup of the
 * route, the token, the media type (capnp), the declared size against the batch limit, one pool
 * lease, the body pushed into it under the same stall timeout, one deadline (`Rpc-Timeout-Ms`
 * clamped to the server maximum), one request-log line. This file is only its run step.
 *
 * Semantics (README, "Batches"): the whole body is checked before any call runs — a batch with
 * more than BATCH_CALLS_MAX calls is refused 413, a malformed frame or envelope, trailing bytes
 * or an empty body 400 — so a refused batch changes nothing. Then the calls run one after
 * another, in order, each with its own result: an unknown method, a scope its token lacks, a
 * call over its method's limit or bad params is that call's error and the others still run.
 * When the deadline passes (or the client goes away) during the run, the call running then and
 * every later one answer deadline_exceeded (canceled); the calls before them keep their results.
 *
 * @module
 */

import { CapnpError, frameByteLength } from "../capnp/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { Answer, type CallAnswer } from "./answer.ts";
import type { Principal } from "./auth.ts";
import type { BinaryCall } from "./binary_wire.ts";
import { acquireOrUnavailable, toRpcError } from "./call_codec.ts";
import type { CallHost } from "./call_host.ts";
import { MEDIA_TYPES } from "./media_type.ts";
import type { HandlerContext } from "./method.ts";
import { METHOD_ID_NONE } from "./registry.ts";

/** The most calls one batch may carry. */
export const BATCH_CALLS_MAX = 64;

/** What a batch run reads of its call (`call.ts` implements it). */
export interface BatchCall {
  /** Whether the call was aborted (deadline, client gone); then `abortReason` says why. */
  readonly aborted: boolean;
  readonly abortReason: RpcError | null;
  /** The call's abort signal (made on first use). */
  signal(): AbortSignal;
  readonly callDeadlineAtMs: number;
}

/** What a batch run needs from its call. */
export interface BatchContext {
  readonly core: CallHost;
  readonly call: BatchCall;
  /** The batch's token (checked by the core); each call's scope is checked here. */
  readonly principal: Principal | null;
  readonly authorization: string | null;
}

/** One call of a batch, its envelope read before any call runs. */
interface BatchEntry {
  readonly frame: Uint8Array;
  readonly call: BinaryCall;
}

/**
 * Checks the whole batch, then runs its calls in order; resolves the 200 answer (the response
 * frames in one lease). Rejects with the RpcError refusing the batch as a whole.
 *
 * @example
 * ```ts
 * const answer = await runBatch(body, { core, call, principal, authorization });
 * ```
 */
export async function runBatch(body: Uint8Array, context: BatchContext): Promise<CallAnswer> {
  const entries = readBatch(body, context.core);
  const frames: Uint8Array[] = [];
  for (const entry of entries) frames.push(await runOne(entry, context));
  let total = 0;
  for (const frame of frames) total += frame.length;
  const lease = acquireOrUnavailable(context.core.deps.services, total);
  let at = 0;
  for (const frame of frames) {
    lease.bytes.set(frame, at);
    at += frame.length;
  }
  return new Answer(200, MEDIA_TYPES.capnp, lease.bytes.subarray(0, total), { lease });
}

/** Splits the body into frames and reads every envelope: the batch's all-or-nothing checks. */
function readBatch(body: Uint8Array, core: CallHost): BatchEntry[] {
  if (body.length === 0) throw new RpcError("invalid_argument", "Cannot run batch: empty body");
  const binary = core.deps.binary!;
  const entries: BatchEntry[] = [];
  let offset = 0;
  // Each pass consumes one frame of at least 8 bytes; the count is capped below.
  while (offset < body.length) {
    if (entries.length === BATCH_CALLS_MAX) {
      core.recordRejected("batch_too_large");
      throw new RpcError(
        "resource_exhausted",
        `Cannot run batch: more than ${BATCH_CALLS_MAX} calls`,
        { httpStatus: 413 },
      );
    }
    const length = frameLengthOrInvalid(body, offset);
    const frame = body.subarray(offset, offset + length);
    entries.push({ frame, call: binary.readCall(frame) });
    offset += length;
  }
  return entries;
}

/** The byte length of the frame at `offset`; a bad or cut frame is invalid_argument. */
function frameLengthOrInvalid(body: Uint8Array, offset: number): number {
  try {
    return frameByteLength(body, offset);
  } catch (error) {
    if (!(error instanceof CapnpError)) throw error;
    throw new RpcError(
      "invalid_argument",
      `Cannot run batch: bytes at ${offset} are not a frame (${error.message})`,
    );
  }
}

/** One call: scope, size, decode, handler (raced against the batch's deadline), encode. */
async function runOne(entry: BatchEntry, context: BatchContext): Promise<Uint8Array> {
  const { core, call } = context;
  const deps = core.deps;
  const binary = deps.binary!;
  const { requestId, methodId } = entry.call;
  const startMs = performance.now();
  try {
    if (call.aborted) throw call.abortReason!;
    if (methodId === METHOD_ID_NONE) {
      core.recordRejected("unknown_method");
      throw new RpcError("unimplemented", "Cannot call: unknown method");
    }
    const spec = deps.registry.get(methodId);
    const denied = deps.auth === null
      ? null
      : deps.auth.check(context.authorization, spec.mutating);
    if (denied !== null) {
      core.recordRejected(denied.code as "unauthenticated" | "permission_denied");
      throw denied;
    }
    const limitBytes = deps.requestBytesMax[methodId];
    if (entry.frame.length > limitBytes) {
      core.recordRejected("too_large");
      throw new RpcError(
        "resource_exhausted",
        `Cannot call ${spec.name}: request of ${entry.frame.length} bytes exceeds ${limitBytes}`,
        { retryAfterSeconds: null },
      );
    }
    const params = binary.decodeParams(entry.call, spec, { limits: deps.readLimits[methodId] });
    const handlerContext: HandlerContext = {
      signal: call.signal(),
      deadlineAtMs: call.callDeadlineAtMs,
      services: deps.services,
    };
    const result = await raceAbort(
      Promise.resolve().then(() => spec.handle(params, handlerContext)),
      call,
    );
    const bytes = binary.encodeResult(requestId, spec, result);
    deps.metrics.recordRequest(methodId, "ok", (performance.now() - startMs) / 1000);
    return bytes;
  } catch (thrown) {
    const error = toRpcError(thrown, false);
    if (methodId !== METHOD_ID_NONE) {
      deps.metrics.recordRequest(methodId, error.code, (performance.now() - startMs) / 1000);
    }
    return binary.encodeError(requestId, error);
  }
}

/** Settles like `running`, or rejects with the call's abort reason as soon as it aborts. */
function raceAbort<T>(running: Promise<T>, call: BatchCall): Promise<T> {
  const signal = call.signal();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    running.then((value) => {
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}
