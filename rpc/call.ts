/**
 * One call, from the moment the core admitted it (`core.ts`) to its answer: the body the
 * transport pushes goes into the call's lease (`body_sink.ts`), then the params are decoded, the
 * handler runs (raced against the deadline and the client going away), the result is encoded
 * into a lease and the answer handed to the transport's sink. A batch (`batch.ts`) takes the same
 * path with its own run step. A gzip-coded body is inflated into a block of its own once it is
 * all in (`inflate_body.ts`); a GET's result is answered with its tag, or 304 (`get_answer.ts`).
 *
 * Timing: the call is its own `Timeout` on the service's clock, armed once when the call opens.
 * While the body arrives it fires at the earlier of the deadline and the body-stall limit (each
 * push only writes the time of progress); while the handler runs, at the deadline. A call whose
 * body is at hand and whose handler is synchronous runs from `open` to its answer without a
 * promise, and disarms its timeout before the tick ever looks at it.
 *
 * Leases: the request block is released exactly once, as soon as nothing can still use it —
 * after decoding (or after the handler settled, for params that view it), when the call fails,
 * or when the transport aborts it — but never while a transport read into `room()` is pending or
 * a handler still views it; then the release waits for that to end.
 *
 * @module
 */

import type { Timeout } from "../clock/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { Answer, type AnswerSink, type CallAnswer } from "./answer.ts";
import { runBatch } from "./batch.ts";
import { LeaseBody } from "./body_sink.ts";
import { decodeCallParams, encodeResultAnswer, toRpcError } from "./call_codec.ts";
import type { CallHost } from "./call_host.ts";
import type { ShareCharge } from "./fair_share.ts";
import { encodeGetAnswer } from "./get_answer.ts";
import { inflateBody } from "./inflate_body.ts";
import type { CallBody, CallPlan } from "./call_plan.ts";
import { MEDIA_TYPES, type WireKind } from "./media_type.ts";
import type { AnyMethodSpec, LeaseLike, Services } from "./method.ts";
import { LazyHandlerContext } from "./handler_context.ts";
import { METHOD_ID_NONE } from "./registry.ts";
import type { Transport } from "./request_log.ts";

export type { CallBody, CallPlan } from "./call_plan.ts";

const STATE = { body: 0, running: 1, done: 2 } as const;

const EMPTY = new Uint8Array(0);

/** The answer recorded for a call the client abandoned (nothing is sent). */
const CANCELED_ANSWER: CallAnswer = new Answer(499, MEDIA_TYPES.json, EMPTY);

/** A call in flight; see the module doc. */
export class Call implements CallBody, Timeout {
  clockSlot = -1;
  deadlineAtMs = 0;
  readonly methodId: number;
  readonly wire: WireKind;
  readonly startMs: number;
  readonly transport: Transport;
  /** Body bytes read (for the request log). */
  bytesIn = 0;
  /** The binary envelope's request id, once read (error answers carry it). */
  requestId = 0;
  readonly #core: CallHost;
  readonly #sink: AnswerSink;
  readonly #plan: CallPlan;
  readonly #body: LeaseBody;
  readonly #callDeadlineAtMs: number;
  #lease: LeaseLike | null;
  /** The charge of `#lease` (another once an inflated body replaced the compressed one). */
  #charge: ShareCharge;
  /** The inflated body of a gzip-coded request (a view of `#lease`), or null. */
  #inflated: Uint8Array | null = null;
  #state: number = STATE.body;
  #bodyDone = false;
  #progressAtMs: number;
  /** A transport read into `room()` is pending. */
  #lent = false;
  /** A handler (or a batch run) may still view the request block. */
  #handlerHolds = false;
  #releaseWanted = false;
  /** A handler (or batch run) has not settled yet (it may still hold decoded params). */
  #handlerRunning = false;
  #jsonCharge: number;
  #controller: AbortController | null = null;
  #abortReason: RpcError | null = null;

  constructor(core: CallHost, sink: AnswerSink, plan: CallPlan, startMs: number) {
    this.#core = core;
    this.#sink = sink;
    this.#plan = plan;
    this.methodId = plan.methodId;
    this.wire = plan.wire;
    this.transport = plan.transport;
    this.startMs = startMs;
    this.#lease = plan.lease;
    this.#charge = plan.charge;
    this.#jsonCharge = plan.jsonCharge;
    this.#body = new LeaseBody(plan.lease, {
      limitBytes: plan.limitBytes,
      declaredBytes: plan.declaredBytes,
      what: core.nameOf(plan.methodId),
    });
    const clock = core.deps.clock;
    const now = clock.nowMs;
    this.#progressAtMs = now;
    this.#callDeadlineAtMs = now + plan.timeoutMs;
    clock.arm(this, Math.min(this.#callDeadlineAtMs, now + core.limits.bodyStallTimeoutMs));
  }

  get wantBytes(): number {
    return this.#state === STATE.body ? this.#body.wantBytes : 0;
  }

  get accepting(): boolean {
    return this.#state === STATE.body;
  }

  get bodyDone(): boolean {
    return this.#bodyDone;
  }

  /** The call's absolute deadline (Date.now()-based). */
  get callDeadlineAtMs(): number {
    return this.#callDeadlineAtMs;
  }

  /** The services handlers use. */
  get services(): Services {
    return this.#core.deps.services;
  }

  push(chunk: Uint8Array): boolean {
    if (this.#state !== STATE.body) return false;
    const error = this.#body.push(chunk);
    if (error !== null) {
      this.#failBody(error);
      return false;
    }
    this.#progressAtMs = this.#core.deps.clock.nowMs;
    return true;
  }

  room(): Uint8Array {
    if (this.#state !== STATE.body) return EMPTY;
    this.#lent = true;
    return this.#body.room();
  }

  commit(n: number): boolean {
    this.#lent = false;
    if (this.#state !== STATE.body) {
      if (this.#releaseWanted) this.#releaseRequest();
      return false;
    }
    const error = this.#body.commit(n);
    if (error !== null) {
      this.#failBody(error);
      return false;
    }
    this.#progressAtMs = this.#core.deps.clock.nowMs;
    return true;
  }

  end(): void {
    if (this.#state !== STATE.body) return;
    const error = this.#body.finish() ?? (this.#plan.gzip ? this.#inflate() : null);
    if (error !== null) {
      this.#failBody(error);
      return;
    }
    this.#bodyDone = true;
    this.bytesIn = this.#body.lengthBytes;
    this.#state = STATE.running;
    const tracer = this.#core.deps.tracer;
    if (tracer === null) this.#run();
    else this.#runTraced(tracer);
  }

  fail(error: RpcError): void {
    this.#lent = false;
    if (this.#state === STATE.body) this.#failBody(error);
    else if (this.#releaseWanted) this.#releaseRequest();
  }

  abort(reason?: unknown): void {
    this.#lent = false;
    if (this.#state === STATE.done) {
      if (this.#releaseWanted) this.#releaseRequest();
      return;
    }
    const why = reason instanceof Error ? reason.message : "the client went away";
    const error = new RpcError("canceled", `Cannot finish call: ${why}`);
    this.#state = STATE.done;
    this.#core.deps.clock.disarm(this);
    this.#abortReason = error;
    this.#controller?.abort(error);
    this.#releaseRequest();
    this.#releaseJson();
    this.#core.record(this, "canceled", CANCELED_ANSWER);
  }

  /**
   * Inflates a gzip-coded body into a block of its own (inflate_body.ts) and lets the
   * compressed one go; the refusal when it cannot.
   */
  #inflate(): RpcError | null {
    const core = this.#core;
    const shares = core.deps.shares;
    let inflated;
    try {
      inflated = inflateBody(this.#body.bytes(), {
        limitBytes: this.#plan.limitBytes,
        what: core.nameOf(this.methodId),
        take: (sizeBytes) => core.takeBlock(sizeBytes, this.#plan),
        give: (block) => {
          block.lease?.release();
          shares.release(block.charge);
        },
      });
    } catch (thrown) {
      return toRpcError(thrown, false);
    }
    this.#lease?.release();
    shares.release(this.#charge);
    this.#lease = inflated.lease;
    this.#charge = inflated.charge;
    this.#inflated = inflated.lease?.bytes.subarray(0, inflated.lengthBytes) ?? EMPTY;
    // The JSON allowance was taken for the compressed length: now for what will be parsed.
    if (this.wire !== "json") return null;
    core.deps.jsonBudget.give(this.#jsonCharge);
    this.#jsonCharge = 0;
    try {
      this.#jsonCharge = core.takeJson(inflated.lengthBytes, this.methodId);
    } catch (thrown) {
      return toRpcError(thrown, false);
    }
    return null;
  }

  /** The body the params are decoded from: the inflated one, or the body as it came. */
  #paramsBytes(): Uint8Array {
    return this.#inflated ?? this.#body.bytes();
  }

  /** Called by the clock: the deadline passed, or the body stalled. */
  onTimeout(nowMs: number): void {
    const clock = this.#core.deps.clock;
    if (this.#state === STATE.body) {
      const stallAtMs = this.#progressAtMs + this.#core.limits.bodyStallTimeoutMs;
      if (nowMs >= this.#callDeadlineAtMs) this.#failBody(this.#deadlineError());
      else if (nowMs >= stallAtMs) this.#failBody(this.#stallError());
      else clock.arm(this, Math.min(this.#callDeadlineAtMs, stallAtMs));
    } else if (this.#state === STATE.running) {
      if (nowMs < this.#callDeadlineAtMs) clock.arm(this, this.#callDeadlineAtMs);
      else if (this.methodId === METHOD_ID_NONE) this.#signalAbort(this.#deadlineError());
      else {
        const error = this.#deadlineError();
        this.#signalAbort(error);
        this.#fail(error);
      }
    }
  }

  /** The handler's abort signal, made on first use. */
  signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortReason !== null) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Whether the call was aborted (deadline, client gone) while running. */
  get aborted(): boolean {
    return this.#abortReason !== null;
  }

  /** The reason the call was aborted, or null. */
  get abortReason(): RpcError | null {
    return this.#abortReason;
  }

  #signalAbort(error: RpcError): void {
    if (this.#abortReason !== null) return;
    this.#abortReason = error;
    this.#controller?.abort(error);
  }

  #deadlineError(): RpcError {
    return new RpcError(
      "deadline_exceeded",
      `Cannot finish call: deadline of ${this.#plan.timeoutMs} ms passed`,
    );
  }

  #stallError(): RpcError {
    return new RpcError(
      "deadline_exceeded",
      `Cannot read body: no progress for ${this.#core.limits.bodyStallTimeoutMs} ms`,
      { httpStatus: 408 },
    );
  }

  #runTraced(tracer: NonNullable<CallHost["deps"]["tracer"]>): void {
    const name = this.#core.nameOf(this.methodId);
    tracer.inSpan(`rpc ${name}`, (span) => {
      span.setAttribute("rpc.system", "worknode");
      span.setAttribute("rpc.method", name);
      return new Promise<void>((resolve) => {
        this.#onFinished = (status) => {
          span.setAttribute("http.response.status_code", status);
          resolve();
        };
        this.#run();
      });
    }).catch(() => {});
  }

  #onFinished: ((status: number) => void) | null = null;

  /** Decode, handler, encode: for a complete body. */
  #run(): void {
    if (this.methodId === METHOD_ID_NONE) {
      this.#runBatch();
      return;
    }
    const deps = this.#core.deps;
    const spec = deps.registry.get(this.methodId);
    let params: unknown;
    try {
      params = decodeCallParams(this.#paramsBytes(), {
        wire: this.wire,
        spec,
        methodId: this.methodId,
        binary: deps.binary,
        limits: deps.readLimits[this.methodId],
        onRequestId: (id) => this.requestId = id,
      }).params;
    } catch (thrown) {
      this.#releaseRequest();
      this.#fail(toRpcError(thrown, false));
      return;
    }
    // Params that view the request block keep it until the handler settled.
    const views = this.wire === "capnp" && spec.paramsDataViews === true;
    if (views) this.#handlerHolds = true;
    else this.#releaseRequest();
    let running: unknown;
    try {
      running = spec.handle(params, new LazyHandlerContext(this));
    } catch (thrown) {
      this.#handlerSettled();
      this.#fail(toRpcError(thrown, false));
      return;
    }
    if (running instanceof Promise) this.#awaitHandler(running, spec);
    else {
      this.#handlerSettled();
      this.#succeed(spec, running);
    }
  }

  #awaitHandler(running: Promise<unknown>, spec: AnyMethodSpec): void {
    this.#handlerRunning = true;
    running.then((result) => {
      this.#handlerSettled();
      if (this.#state === STATE.running) this.#succeed(spec, result);
    }, (thrown) => {
      this.#handlerSettled();
      if (this.#state === STATE.running) this.#fail(toRpcError(thrown, false));
    });
  }

  #runBatch(): void {
    this.#handlerHolds = true;
    this.#handlerRunning = true;
    runBatch(this.#paramsBytes(), {
      core: this.#core,
      call: this,
      principal: this.#plan.principal,
      authorization: this.#plan.authorization,
    }).then((answer) => {
      this.#handlerSettled();
      if (this.#state === STATE.running) this.#finish(answer, "ok");
      else answer.release();
    }, (thrown) => {
      this.#handlerSettled();
      if (this.#state === STATE.running) this.#fail(toRpcError(thrown, false));
    });
  }

  #handlerSettled(): void {
    this.#handlerHolds = false;
    this.#handlerRunning = false;
    if (this.#releaseWanted) this.#releaseRequest();
    if (this.#state === STATE.done) this.#releaseJson();
  }

  /** Gives the JSON allowance back once the call ended and no handler holds its params. */
  #releaseJson(): void {
    if (this.#jsonCharge === 0 || this.#handlerRunning) return;
    this.#core.deps.jsonBudget.give(this.#jsonCharge);
    this.#jsonCharge = 0;
  }

  #succeed(spec: AnyMethodSpec, result: unknown): void {
    let answer: CallAnswer;
    try {
      const deps = this.#core.deps;
      const options = {
        wire: this.wire,
        spec,
        requestId: this.requestId,
        binary: deps.binary,
        services: deps.services,
      };
      answer = this.#plan.get
        ? encodeGetAnswer(result, { ...options, ifNoneMatch: this.#plan.ifNoneMatch })
        : encodeResultAnswer(result, options);
    } catch (thrown) {
      this.#fail(toRpcError(thrown, false));
      return;
    }
    this.#finish(answer, "ok");
  }

  /** A failure while the body arrives: answered at once; the body stays unread. */
  #failBody(error: RpcError): void {
    this.#releaseRequest();
    this.#fail(error);
  }

  #fail(error: RpcError): void {
    this.#finish(this.#core.errors.answer(error, this.wire, this.requestId), error.code);
  }

  /** Records the call and hands the answer to the sink (once). */
  #finish(answer: CallAnswer, code: RpcError["code"] | "ok"): void {
    if (this.#state === STATE.done) {
      answer.release();
      return;
    }
    this.#state = STATE.done;
    this.#core.deps.clock.disarm(this);
    this.#releaseRequest();
    this.#releaseJson();
    this.#core.record(this, code, answer);
    this.#onFinished?.(answer.status);
    this.#sink.answer(answer);
  }

  /** Releases the request block now, or as soon as no read and no handler views it. */
  #releaseRequest(): void {
    this.#releaseWanted = true;
    if (this.#lent || this.#handlerHolds) return;
    const lease = this.#lease;
    if (lease === null) return;
    this.#lease = null;
    lease.release();
    this.#core.deps.shares.release(this.#charge);
  }
}
