/**
 * The one call core: every transport opens its calls here. Given the request's few fields
 * (`CallHead`) before any body byte, the core decides, once for every listener: the HTTP method
 * (405), the frozen-set lookup (501), the singleton fields (400), the token (401 / 403), the
 * media type (415), the declared size against the method's limit (413), the deadline header
 * (400), the pool lease (503) — and then takes the body the transport pushes, runs the handler
 * and hands the answer to the transport's sink (`call.ts`). A transport only turns its bytes into
 * a `CallHead` plus body chunks, and the answer back into its bytes (docs/design.md).
 *
 * Browsers and caches (docs/design.md, "Browsers and caches") are the core's too: an `OPTIONS`
 * preflight is answered here from shared bytes, a `GET` of a side-effect-free method becomes the
 * call its query's message stands for (`get_form.ts`), and a call whose answers get CORS or
 * caching fields, or may be compressed, answers through a web sink (`web_sink.ts`).
 *
 * @module
 */

import { type Clock } from "../clock/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import type { AnswerSink, CallAnswer, HeaderPairs } from "./answer.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { FairShares, ShareCharge } from "./fair_share.ts";
import type { JsonBudget } from "./json_budget.ts";
import type { BinaryWire } from "./binary_wire.ts";
import { tooLarge } from "./body_sink.ts";
import { Call, type CallBody, type CallPlan } from "./call.ts";
import type { AdmittedCall } from "./call_plan.ts";
import type { CallHead } from "./call_head.ts";
import type { BlockOwner, CallHost } from "./call_host.ts";
import { bodyCodingOf } from "./content_coding.ts";
import {
  DRAINING,
  GET_WITH_BODY,
  internalError,
  isShared,
  NOT_GET,
  NOT_POST,
  NOT_POST_OR_GET,
  RefusalCache,
  repeatedField,
  UNKNOWN_METHOD,
  UNSUPPORTED_CODING,
} from "./core_refusals.ts";
import { ALLOW_GET_POST, ErrorAnswers } from "./error_answer.ts";
import { parseDecimalHeader } from "./header_values.ts";
import { type WireKind, wireKindOf } from "./media_type.ts";
import type { LeaseLike, MethodReadLimits, Services } from "./method.ts";
import type { RejectReason, RpcMetrics } from "./metrics.ts";
import { METHOD_ID_NONE, type MethodRegistry } from "./registry.ts";
import type { RequestLog } from "./request_log.ts";
import { HTTP_METHOD } from "./route.ts";
import type { RpcTracer } from "./tracing.ts";
import { decodeMessageInto, GET_TARGET_BYTES_MAX, parseGetQuery } from "./get_form.ts";
import { WebPolicy } from "./web_policy.ts";
import { WebSink } from "./web_sink.ts";

export type { CallBody } from "./call.ts";

/** The core's own limits. */
export interface CoreLimits {
  /** A call's body must make progress within this, else 408 and the lease is released. */
  readonly bodyStallTimeoutMs: number;
}

/** The defaults: a body stalled for 10 s loses its block (as the HTTP/1.1 body timeout was). */
export const CORE_LIMITS_DEFAULT: CoreLimits = Object.freeze({ bodyStallTimeoutMs: 10_000 });

/** What the core is built from, once at boot. */
export interface CoreDeps {
  readonly registry: MethodRegistry;
  readonly services: Services;
  readonly metrics: RpcMetrics;
  /** Per method id: the request size limit, clamped to the largest pool block. */
  readonly requestBytesMax: readonly number[];
  /** Per method id: the decode limits under the plan (null = the defaults). */
  readonly readLimits: readonly (MethodReadLimits | null)[];
  /** The batch size limit (the plan's message maximum, clamped to the largest block). */
  readonly batchBytesMax: number;
  /** Null when the binary codec is off (JSON only). */
  readonly binary: BinaryWire | null;
  /** The service's one clock (deadlines, body stalls). */
  readonly clock: Clock;
  /** Bearer-token checks; null = no auth (tests and benches that are not about auth). */
  readonly auth: Authenticator | null;
  /** One line per call; null when requests are not logged. */
  readonly requestLog: RequestLog | null;
  /** OpenTelemetry spans; null when off. */
  readonly tracer: RpcTracer | null;
  /** The fair shares of the pool per connection and principal. */
  readonly shares: FairShares;
  /** The heap allowance of JSON calls in flight. */
  readonly jsonBudget: JsonBudget;
  readonly limits?: Partial<CoreLimits>;
}

/** The charge of a call that takes no block. */
const NO_CHARGE: ShareCharge = Object.freeze({ classIndex: -1, connection: null, principal: null });

/**
 * The call core of one service.
 *
 * @example
 * ```ts
 * const core = new CallCore(deps);
 * const body = core.open(head, sink); // null: answered already (refused)
 * if (body !== null) { body.push(bytes); body.end(); } // the answer reaches sink.answer
 * ```
 */
export class CallCore implements CallHost {
  readonly deps: CoreDeps;
  readonly limits: CoreLimits;
  readonly errors: ErrorAnswers;
  /** CORS, Cache-Control and compression, from the configuration (web_policy.ts). */
  readonly web: WebPolicy;
  /** True once shutdown began: new calls are answered 503 with Retry-After. */
  draining = false;
  readonly #refusals = new RefusalCache();

  constructor(deps: CoreDeps) {
    if (!deps.registry.frozen) {
      throw new TypeError("Cannot build core: the method set is not frozen");
    }
    this.deps = deps;
    this.limits = Object.freeze({ ...CORE_LIMITS_DEFAULT, ...deps.limits });
    const stall = this.limits.bodyStallTimeoutMs;
    if (!Number.isSafeInteger(stall) || stall <= 0) {
      throw new RangeError(`Cannot build core: bodyStallTimeoutMs ${stall} is not positive`);
    }
    this.errors = new ErrorAnswers(deps.binary);
    this.web = new WebPolicy(deps.services.config);
  }

  /**
   * Opens the call `head` describes (its target matched the /rpc namespace: see route.ts). A
   * refusal is answered through `sink` at once and null is returned; otherwise the call takes
   * the body: push its bytes and `end()` it (the answer then reaches `sink`), or `abort()` it
   * when the client goes away.
   */
  open(head: CallHead, sink: AnswerSink): CallBody | null {
    const wire = wireKindOf(head.contentType);
    if (this.draining) return this.#refuse(sink, DRAINING, wire);
    if (head.methodCode !== HTTP_METHOD.post) return this.#openOther(head, sink);
    const out = this.#sinkFor(head, sink, false);
    const deps = this.deps;
    let methodId = METHOD_ID_NONE;
    if (!head.batch) {
      methodId = this.#lookup(head);
      if (methodId === METHOD_ID_NONE) {
        deps.metrics.recordRejected("unknown_method");
        out.answer(this.errors.shared(UNKNOWN_METHOD, wire));
        return null;
      }
    }
    const startMs = performance.now();
    try {
      const principal = this.#check(head, methodId);
      const plan = this.#admit(head, {
        methodId,
        wire,
        principal,
        declaredBytes: head.contentLengthBytes,
        get: false,
      });
      return new Call(this, out, plan, startMs);
    } catch (thrown) {
      const error = thrown instanceof RpcError ? thrown : internalError(thrown);
      this.#answerRefused(out, error, { methodId, wire, startMs, transport: head.transport });
      return null;
    }
  }

  /** The method id the target names, or METHOD_ID_NONE. */
  #lookup(head: CallHead): number {
    return this.deps.registry.lookupBytes(
      head.targetBytes,
      head.nameStart,
      head.nameEnd - head.nameStart,
    );
  }

  /**
   * The answer sink of a call: the transport's own, or a web sink when the call's answers get
   * web fields or may be compressed (web_sink.ts).
   */
  #sinkFor(head: CallHead, sink: AnswerSink, get: boolean): AnswerSink {
    const web = this.web;
    const fields = web.fieldsOf(head, get);
    const coding = web.codingOf(head);
    if (fields === null && coding === null) return sink;
    const pool = this.deps.services.pool;
    return new WebSink(sink, { fields, get, coding, minBytes: web.compressMinBytes, pool });
  }

  /**
   * A method other than POST: OPTIONS (a preflight, answered from shared bytes without a token
   * or a block), GET (a side-effect-free method's GET form), anything else 405.
   */
  #openOther(head: CallHead, sink: AnswerSink): CallBody | null {
    const methodId = head.batch ? METHOD_ID_NONE : this.#lookup(head);
    const safe = methodId !== METHOD_ID_NONE &&
      this.deps.registry.get(methodId).sideEffectFree === true;
    if (head.methodCode === HTTP_METHOD.options) {
      sink.answer(this.web.preflight(head, safe));
      return null;
    }
    const get = head.methodCode === HTTP_METHOD.get;
    const out = this.#sinkFor(head, sink, get);
    if (!get) {
      if (safe) return this.#refuse(out, NOT_POST_OR_GET, null, ALLOW_GET_POST);
      return this.#refuse(out, NOT_POST, null);
    }
    if (methodId === METHOD_ID_NONE && !head.batch) {
      this.deps.metrics.recordRejected("unknown_method");
      return this.#refuse(out, UNKNOWN_METHOD, null);
    }
    return safe ? this.#openGet(head, out, methodId) : this.#refuse(out, NOT_GET, null);
  }

  /**
   * A GET: the URL's bound (414), the token, then the query (get_form.ts); the message is
   * decoded into the call's block and the call runs as a POST of that body would.
   */
  #openGet(head: CallHead, sink: AnswerSink, methodId: number): CallBody | null {
    const startMs = performance.now();
    let wire: WireKind | null = null;
    try {
      if (head.targetLengthBytes > GET_TARGET_BYTES_MAX) {
        this.recordRejected("bad_request");
        throw new RpcError(
          "invalid_argument",
          `Cannot call with GET: a target of ${head.targetLengthBytes} bytes exceeds ` +
            `${GET_TARGET_BYTES_MAX}; POST it`,
          { httpStatus: 414 },
        );
      }
      if (head.contentLengthBytes > 0) throw GET_WITH_BODY;
      const principal = this.#check(head, methodId);
      const query = parseGetQuery(head.targetBytes, head.queryStart, head.queryEnd);
      wire = query.wire;
      const declaredBytes = query.decodedBytes;
      const plan = this.#admit(head, { methodId, wire, principal, declaredBytes, get: true });
      const call = new Call(this, sink, plan, startMs);
      if (declaredBytes > 0) call.commit(decodeMessageInto(head.targetBytes, query, call.room()));
      call.end();
      return call;
    } catch (thrown) {
      const error = thrown instanceof RpcError ? thrown : internalError(thrown);
      this.#answerRefused(sink, error, { methodId, wire, startMs, transport: head.transport });
      return null;
    }
  }

  /**
   * An error answer for a transport-level refusal (a malformed HTTP/1.1 head, a timeout),
   * in JSON unless the request asked for Cap'n Proto.
   *
   * @example
   * ```ts
   * const answer = core.refusal(new RpcError("invalid_argument", "Bad request: bare LF"), null);
   * ```
   */
  refusal(error: RpcError, contentType: string | null): CallAnswer {
    return this.errors.answer(error, wireKindOf(contentType));
  }

  /** The answer a request gets while the server drains (shared bytes). */
  drainingAnswer(contentType: string | null): CallAnswer {
    return this.errors.shared(DRAINING, wireKindOf(contentType));
  }

  /** Records a rejection reason (transports: the connection-level refusals). */
  recordRejected(reason: RejectReason): void {
    this.deps.metrics.recordRejected(reason);
  }

  #refuse(
    sink: AnswerSink,
    error: RpcError,
    wire: WireKind | null,
    fields?: HeaderPairs,
  ): null {
    sink.answer(this.errors.shared(error, wire, fields));
    return null;
  }

  /** The singleton fields and the token, checked first; returns who calls. */
  #check(head: CallHead, methodId: number): Principal | null {
    if (head.authorizationCount > 1 || head.contentTypeCount > 1 || head.rpcTimeoutMsCount > 1) {
      this.recordRejected("bad_request");
      throw new RpcError("invalid_argument", `Cannot call: ${repeatedField(head)} appears twice`);
    }
    return this.#authorize(head, methodId);
  }

  /** Everything else checked before a body byte is read; throws the refusal. */
  #admit(head: CallHead, call: AdmittedCall): CallPlan {
    const deps = this.deps;
    const { methodId, wire } = call;
    const batch = methodId === METHOD_ID_NONE;
    if (
      wire === null || (wire === "capnp" && deps.binary === null) || (batch && wire !== "capnp")
    ) {
      this.recordRejected("unsupported_media_type");
      const what = call.get ? `encoding ${wire}` : `media type ${head.contentType}`;
      throw new RpcError(
        "invalid_argument",
        `Cannot call: unsupported ${what}${batch ? " (a batch is capnp)" : ""}`,
        { httpStatus: 415 },
      );
    }
    const gzip = !call.get && this.#gzipBody(head);
    const limitBytes = batch ? deps.batchBytesMax : deps.requestBytesMax[methodId];
    const declared = call.declaredBytes;
    if (declared > limitBytes) {
      this.recordRejected(batch ? "batch_too_large" : "too_large");
      throw tooLarge(this.nameOf(methodId), declared, limitBytes);
    }
    const asked = parseDecimalHeader("Rpc-Timeout-Ms", head.rpcTimeoutMs);
    const timeoutMax = deps.services.config.rpcTimeoutMsMax;
    const timeoutMs = Math.max(1, Math.min(asked ?? timeoutMax, timeoutMax));
    const sizeBytes = declared >= 0 ? declared : limitBytes;
    const principal = call.principal;
    const jsonCharge = wire === "json" ? this.takeJson(sizeBytes, methodId) : 0;
    let taken: { lease: LeaseLike | null; charge: ShareCharge };
    try {
      taken = this.takeBlock(sizeBytes, { share: head.share, principal, methodId });
    } catch (error) {
      deps.jsonBudget.give(jsonCharge);
      throw error;
    }
    return {
      methodId,
      wire,
      lease: taken.lease,
      charge: taken.charge,
      jsonCharge,
      limitBytes,
      declaredBytes: declared,
      timeoutMs,
      principal,
      authorization: head.authorization,
      transport: head.transport,
      share: head.share,
      gzip,
      get: call.get,
      ifNoneMatch: call.get ? head.ifNoneMatch : null,
    };
  }

  /** Whether the body is gzip-coded (inflated once it is in); throws 415 for another coding. */
  #gzipBody(head: CallHead): boolean {
    const coding = bodyCodingOf(head.contentEncoding, head.contentEncodingCount);
    if (coding !== "unsupported") return coding === "gzip";
    this.recordRejected("unsupported_media_type");
    throw UNSUPPORTED_CODING;
  }

  /**
   * A JSON call's heap allowance (json_budget.ts) for a body of `sizeBytes`, or the 503
   * refusing it (also for an inflated body: call.ts).
   */
  takeJson(sizeBytes: number, methodId: number): number {
    const charge = this.deps.jsonBudget.tryTake(sizeBytes);
    if (charge > 0) return charge;
    this.recordRejected("json_budget");
    throw this.#refusals.get(`json ${methodId}`, () =>
      new RpcError(
        "unavailable",
        `Cannot call ${this.nameOf(methodId)}: the JSON decode budget is spent, retry ` +
          "(or call with application/capnp)",
      ));
  }

  /**
   * The share and the lease come last: nothing after them can refuse the call, so neither is
   * ever taken in vain (but for an inflated body's block: call.ts). Throws 429 (over a share)
   * or 503 (pool exhausted).
   */
  takeBlock(sizeBytes: number, call: BlockOwner): { lease: LeaseLike | null; charge: ShareCharge } {
    if (sizeBytes === 0) return { lease: null, charge: NO_CHARGE };
    const deps = this.deps;
    const charge = this.#charge(sizeBytes, call);
    const lease = deps.services.pool.tryAcquire(sizeBytes);
    if (lease === null) {
      deps.shares.release(charge);
      this.recordRejected("pool_exhausted");
      throw this.#refusals.get(`${call.methodId}`, () =>
        new RpcError(
          "unavailable",
          `Cannot call ${this.nameOf(call.methodId)}: pool exhausted, retry`,
        ));
    }
    return { lease, charge };
  }

  /**
   * The token check: a call is refused before its body; a batch needs a valid token (unless
   * reads are public) and its calls' scopes are checked one by one. Returns who calls (null
   * without auth, or for a public read without a token).
   */
  #authorize(head: CallHead, methodId: number): Principal | null {
    const auth = this.deps.auth;
    if (auth === null) return null;
    if (methodId === METHOD_ID_NONE) {
      const principal = auth.identify(head.authorization);
      if (principal === null && !auth.publicRead) {
        this.recordRejected("unauthenticated");
        throw auth.check(head.authorization, true)!;
      }
      return principal;
    }
    const denied = auth.check(head.authorization, this.deps.registry.get(methodId).mutating);
    if (denied !== null) {
      this.recordRejected(denied.code as "unauthenticated" | "permission_denied");
      throw denied;
    }
    return head.authorization === null ? null : auth.identify(head.authorization);
  }

  /** Charges the call's block to its connection and principal, or refuses it (429). */
  #charge(sizeBytes: number, call: BlockOwner): ShareCharge {
    const shares = this.deps.shares;
    const principal = call.principal;
    const charge = shares.tryCharge(sizeBytes, call.share, shares.principalAccount(principal));
    if (typeof charge !== "string") return charge;
    this.recordRejected(charge === "connection" ? "share_connection" : "share_principal");
    const classIndex = shares.classOf(sizeBytes);
    const who = charge === "connection" ? "this connection" : `token "${principal!.name}"`;
    const methodId = call.methodId;
    throw this.#refusals.get(`${methodId} ${classIndex} ${who}`, () => {
      const cap = shares.caps[classIndex];
      const held = charge === "connection" ? cap.connectionBlocksMax : cap.principalBlocksMax;
      return new RpcError(
        "resource_exhausted",
        `Cannot call ${this.nameOf(methodId)}: ${who} holds its share of ` +
          `${cap.blockSizeBytes}-byte blocks (${held}), retry`,
      );
    });
  }

  /** The name a method id has in messages and logs (`batch` for a batch). */
  nameOf(methodId: number): string {
    return methodId === METHOD_ID_NONE ? "batch" : this.deps.registry.get(methodId).name;
  }

  /** A refusal before the call existed: answered, counted and logged like any call. */
  #answerRefused(
    sink: AnswerSink,
    error: RpcError,
    call: {
      methodId: number;
      wire: WireKind | null;
      startMs: number;
      transport: CallHead["transport"];
    },
  ): void {
    const answer = error.details === undefined && isShared(error)
      ? this.errors.shared(error, call.wire)
      : this.errors.answer(error, call.wire);
    this.record(call, error.code, answer);
    sink.answer(answer);
  }

  /** Counts a finished call and writes its request-log line. */
  record(
    call: {
      readonly methodId: number;
      readonly startMs: number;
      readonly transport: CallHead["transport"];
      readonly bytesIn?: number;
    },
    code: RpcError["code"] | "ok",
    answer: CallAnswer,
  ): void {
    const durationMs = performance.now() - call.startMs;
    const deps = this.deps;
    if (call.methodId !== METHOD_ID_NONE) {
      deps.metrics.recordRequest(call.methodId, code, durationMs / 1000);
    }
    const log = deps.requestLog;
    if (log === null) return;
    log.record({
      method: this.nameOf(call.methodId),
      code,
      httpStatus: answer.status,
      durationMs,
      bytesIn: call.bytesIn ?? 0,
      bytesOut: answer.body.length,
      leasesHeld: deps.services.pool.inUseCount(),
      transport: call.transport,
    });
  }
}
