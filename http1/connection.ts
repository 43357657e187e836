/**
 * One plaintext HTTP/1.1 connection: a loop reading request heads into one reused buffer,
 * serving `POST /rpc/<method>` through the call core (`rpc/call.ts`) without any Request or
 * Response object, and every other request through the Hono app (`fetch_bridge.ts`).
 *
 * The RPC path follows DESIGN invariant 1: the method is looked up in the frozen set from the
 * path bytes before any body byte is looked at; an unknown method is answered at once, and its
 * body is never read (skipped when it is already buffered, else the connection closes). A known
 * method's body is copied from the buffer into the call's lease, and the rest is read by
 * `conn.read` straight into the lease view (the read op borrows the view, never detaches it).
 *
 * Timeouts are deadlines on the connection (`phase`, `deadlineAtMs`) that the server's tick
 * checks (`expire`), so the hot path sets two fields instead of arming a timer per read.
 *
 * @module
 */

import {
  type CallAnswer,
  type CallBodyReadOptions,
  type CallHead,
  type CallInput,
  serveCall,
  unknownMethodAnswer,
} from "../rpc/call.ts";
import type { CallSignal } from "../rpc/call_context.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { METHOD_ID_NONE } from "../rpc/registry.ts";
import { ChunkedDecoder, ChunkedError } from "./chunked.ts";
import { serveFetch } from "./fetch_bridge.ts";
import {
  findHeadEnd,
  HeadError,
  METHOD_CODES,
  parseHead,
  RequestHead,
  skipEmptyLines,
} from "./head.ts";
import type { ServerContext } from "./context.ts";
import {
  HEAD_CLOSE,
  HEAD_KEEP_ALIVE,
  HEAD_PLAIN,
  type HeadOptions,
  latin1Bytes,
} from "./response.ts";
import { readRaced, rpcSegmentEnd, writeAll } from "./_private.ts";
import { AnswerWriter, type WriterHost } from "./answer_writer.ts";

/** Where a connection is; the timeout that applies depends on it. */
export const PHASES = { idle: 0, head: 1, body: 2, busy: 3, write: 4 } as const;

/** The most requests one connection serves before it closes (bounds the loop). */
export const REQUESTS_PER_CONNECTION_MAX = 2 ** 31;

/** Free room below which the read buffer is compacted before the next read. */
const READ_ROOM_MIN = 4096;

const BODY_STATE = { none: 0, unread: 1, done: 2, broken: 3 } as const;

const CONTINUE = latin1Bytes("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * A connection and its per-request state; it is the `CallInput` (and `CallHead`) of its call,
 * so a call costs no extra objects.
 *
 * @example
 * ```ts
 * const connection = new Connection(conn, context);
 * await connection.run();
 * ```
 */
export class Connection implements CallInput, CallHead, WriterHost {
  readonly #conn: Deno.Conn;
  readonly #ctx: ServerContext;
  readonly #buf: Uint8Array;
  readonly #writer: AnswerWriter;
  readonly #head = new RequestHead();
  #start = 0;
  #end = 0;
  #phase: number = PHASES.idle;
  #deadlineAtMs = 0;
  #closing = false;
  #closed = false;
  #bodyState: number = BODY_STATE.none;
  #bodyBuffered = false;
  #pendingRead: Promise<number | null> | null = null;
  #watch: AbortController | null = null;
  #scanFrom = 0;
  #headStarted = false;
  #lengthNumber = -1;
  #lengthText: string | null = null;

  constructor(conn: Deno.Conn, ctx: ServerContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#buf = new Uint8Array(ctx.limits.readBufferBytes);
    this.#writer = new AnswerWriter(conn, this, {
      outputBufferBytes: ctx.limits.outputBufferBytes,
      encoder: ctx.encoder,
    });
  }

  // --- CallHead: the header values the call core reads. ---
  get head(): CallHead {
    return this;
  }
  get contentType(): string | null {
    return this.#head.contentType;
  }
  get contentLength(): string | null {
    const n = this.#head.contentLength;
    if (n < 0) return null;
    if (n !== this.#lengthNumber) {
      this.#lengthNumber = n;
      this.#lengthText = String(n);
    }
    return this.#lengthText;
  }
  get rpcTimeoutMs(): string | null {
    return this.#head.rpcTimeoutMs;
  }
  get authorization(): string | null {
    return this.#head.authorization;
  }

  /** The parsed head of the current request (valid while it is served). */
  get requestHead(): RequestHead {
    return this.#head;
  }

  /** The read buffer (the fetch bridge reads bodies through it). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Whether no response byte of the current request was written yet. */
  get answerStarted(): boolean {
    return this.#writer.answerStarted;
  }

  /** Serves requests until the client closes, an error, a timeout or a `Connection: close`. */
  async run(): Promise<void> {
    const ctx = this.#ctx;
    const buf = this.#buf;
    try {
      for (let n = 0; n < REQUESTS_PER_CONNECTION_MAX; n++) {
        // Reads until a whole head is buffered, inline (no async frame per request). Each pass
        // reads at least one byte into the bounded buffer, or ends.
        this.#beginHead();
        for (let pass = 0; !this.#headBuffered(); pass++) {
          if (pass > buf.length) return;
          // An empty buffer is read whole (no view made per request).
          const read = await (this.#pendingRead ??
            this.#conn.read(this.#end === 0 ? buf : buf.subarray(this.#end)));
          this.#pendingRead = null;
          if (read === null || this.#closing) return;
          this.#end += read;
        }
        ctx.requestStarted();
        let keep: boolean;
        try {
          const serving = this.#serve();
          keep = typeof serving === "boolean" ? serving : await serving;
        } finally {
          ctx.requestEnded();
        }
        if (!keep) break;
      }
    } catch (error) {
      // A bad head is answered; any other error is the connection failing (reset, closed by a
      // timeout or by shutdown): nothing is left to answer.
      if (error instanceof HeadError && !this.#closing) {
        await this.refuse(error.status, `Bad request: ${error.message}`).catch(() => {});
      }
    } finally {
      this.destroy();
    }
  }

  /** Closes the socket now (pending reads and writes reject). Idempotent. */
  destroy(): void {
    this.#closing = true;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * Called by the server's tick: past the deadline of an idle, head, body or write phase the
   * connection closes, after a 408 when no byte of an answer was sent yet.
   */
  expire(nowMs: number): void {
    if (this.#closed || this.#phase === PHASES.busy || nowMs < this.#deadlineAtMs) return;
    if (this.#closing || this.#phase === PHASES.idle || this.#writer.answerStarted) {
      this.destroy();
      return;
    }
    this.#closing = true;
    // One more tick for the 408 itself, then the next expire closes regardless.
    this.#deadlineAtMs = nowMs + this.#ctx.limits.bodyTimeoutMs;
    this.#writer.answerStarted = true;
    const answer = this.#ctx.encoder.plainAnswer(408, "Request timeout");
    writeAll(this.#conn, answer).catch(() => {}).finally(() => this.destroy());
  }

  #enter(phase: number, timeoutMs: number): void {
    this.#phase = phase;
    this.#deadlineAtMs = this.#ctx.nowMs + timeoutMs;
  }

  /** Starts waiting for the next head (idle until its first byte arrives). */
  #beginHead(): void {
    if (this.#start === this.#end && this.#pendingRead === null) this.#start = this.#end = 0;
    this.#enter(PHASES.idle, this.#ctx.limits.idleTimeoutMs);
    // Nothing of the next request's answer is written yet (a 408 or 400 may still be sent).
    this.#writer.answerStarted = false;
    this.#scanFrom = this.#start;
    this.#headStarted = false;
  }

  /**
   * Parses the head when it is all buffered (true); otherwise makes room for the next read
   * (false). Throws HeadError for a bad head or one larger than the buffer (431).
   */
  #headBuffered(): boolean {
    const buf = this.#buf;
    this.#start = skipEmptyLines(buf, this.#start, this.#end);
    if (this.#end > this.#start) {
      if (!this.#headStarted) {
        this.#headStarted = true;
        this.#enter(PHASES.head, this.#ctx.limits.headTimeoutMs);
      }
      const headEnd = findHeadEnd(buf, this.#start, { end: this.#end, scanFrom: this.#scanFrom });
      if (headEnd >= 0) {
        parseHead(buf, this.#start, { headEnd, head: this.#head });
        this.#start = headEnd;
        return true;
      }
      this.#scanFrom = Math.max(this.#start, this.#end - 3);
    }
    if (this.#pendingRead === null) {
      if (this.#start > 0 && buf.length - this.#end < READ_ROOM_MIN) {
        buf.copyWithin(0, this.#start, this.#end);
        this.#scanFrom -= this.#start;
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#end === buf.length) {
        throw new HeadError(431, `request head larger than ${buf.length} bytes`);
      }
    }
    return false;
  }

  /**
   * Serves the parsed request; returns (or resolves) whether the connection stays open. Not an
   * async function: an unknown method is answered without one.
   */
  #serve(): boolean | Promise<boolean> {
    const ctx = this.#ctx;
    const head = this.#head;
    this.#watch = null;
    this.#phase = PHASES.busy;
    const bodyless = head.contentLength <= 0 && !head.chunked;
    this.#bodyState = bodyless ? BODY_STATE.none : BODY_STATE.unread;
    this.#bodyBuffered = this.#end > this.#start;
    if (ctx.draining) return this.#refuseDraining();
    if (head.methodCode === METHOD_CODES.post) {
      const segmentEnd = rpcSegmentEnd(this.#buf, head.targetStart, head.targetEnd);
      if (segmentEnd >= 0) {
        const nameStart = head.targetStart + 5;
        const deps = ctx.deps;
        const methodId = deps.registry.lookupBytes(this.#buf, nameStart, segmentEnd - nameStart);
        if (methodId !== METHOD_ID_NONE) return this.#serveCall(methodId);
        const answer = unknownMethodAnswer(head.contentType, deps);
        const keep = head.keepAlive && this.skipBufferedBody();
        const writing = this.#writeAnswer(answer, keep);
        return writing === undefined ? keep : writing.then(() => keep);
      }
    }
    return serveFetch(this, ctx);
  }

  /**
   * A known method through the call core, then its answer. Not an async function: a buffered
   * body and a synchronous handler give the answer at once (see serveCall).
   */
  #serveCall(methodId: number): boolean | Promise<boolean> {
    const outcome = serveCall(methodId, this, this.#ctx.deps);
    if (outcome instanceof Promise) return outcome.then((answer) => this.#afterCall(answer));
    return this.#afterCall(outcome);
  }

  /** Writes a call's answer; returns (or resolves) whether the connection stays open. */
  #afterCall(answer: CallAnswer): boolean | Promise<boolean> {
    const keep = this.#head.keepAlive && this.bodyFinished();
    const writing = this.#writeAnswer(answer, keep);
    return writing === undefined ? keep : writing.then(() => keep);
  }

  /**
   * Whether the request's body is behind us: read, absent, or (unread) wholly buffered, in
   * which case it is skipped. False means the connection must close after the answer.
   */
  bodyFinished(): boolean {
    if (this.#bodyState === BODY_STATE.unread) return this.skipBufferedBody();
    return this.#bodyState !== BODY_STATE.broken;
  }

  /** Skips an unread Content-Length body when it is all buffered; false when it is not. */
  skipBufferedBody(): boolean {
    const head = this.#head;
    if (this.#bodyState !== BODY_STATE.unread) return this.#bodyState !== BODY_STATE.broken;
    if (head.chunked || this.#end - this.#start < head.contentLength) {
      this.#bodyState = BODY_STATE.broken;
      return false;
    }
    this.#start += head.contentLength;
    this.#bodyState = BODY_STATE.done;
    return true;
  }

  /** The connection header an answer carries. */
  #headOptions(keep: boolean): HeadOptions {
    if (!keep) return HEAD_CLOSE;
    return this.#head.versionMinor === 0 ? HEAD_KEEP_ALIVE : HEAD_PLAIN;
  }

  /** Writes an RPC answer and releases it (see AnswerWriter.writeAnswer). */
  #writeAnswer(answer: CallAnswer, keep: boolean): Promise<void> | undefined {
    return this.#writer.writeAnswer(answer, this.#headOptions(keep));
  }

  /** Writes bytes (looping over partial writes) under the write timeout. */
  write(bytes: Uint8Array): Promise<void> {
    return this.#writer.write(bytes);
  }

  // --- WriterHost ---
  get closing(): boolean {
    return this.#closing;
  }
  enterWrite(): void {
    this.#enter(PHASES.write, this.#ctx.limits.bodyTimeoutMs);
  }
  leaveWrite(): void {
    this.#phase = PHASES.busy;
  }

  /** Answers `status` with a short text and `connection: close` (bad heads, timeouts). */
  async refuse(status: number, message: string): Promise<void> {
    if (this.#writer.answerStarted || this.#closing) return;
    await this.write(this.#ctx.encoder.plainAnswer(status, message));
  }

  /** The 503 a request gets while the server drains; the connection closes after it. */
  async #refuseDraining(): Promise<boolean> {
    await this.write(this.#ctx.encoder.drainingAnswer());
    return false;
  }

  // --- CallInput ---

  /**
   * Reads the body into `target` (a lease view): the buffered part is copied, the rest is read
   * from the socket straight into the view. A body that is already buffered (the common small
   * call) gives its length at once, without a promise.
   */
  readBody(target: Uint8Array, options: CallBodyReadOptions): number | Promise<number> {
    const head = this.#head;
    if (this.#bodyState !== BODY_STATE.unread) return 0;
    this.#bodyState = BODY_STATE.broken; // Until the whole body is in.
    if (head.chunked) return this.#readChunked(target, options);
    const length = head.contentLength;
    if (length > options.limitBytes) {
      throw new RpcError(
        "resource_exhausted",
        `Cannot read body: ${length} bytes exceed the limit`,
        { httpStatus: 413 },
      );
    }
    const got = Math.min(this.#end - this.#start, length);
    target.set(this.#buf.subarray(this.#start, this.#start + got));
    this.#start += got;
    if (got < length) return this.#readRest(target, got, options);
    this.#bodyState = BODY_STATE.done;
    return got;
  }

  /** The part of a Content-Length body not buffered yet, read into the lease view. */
  async #readRest(target: Uint8Array, buffered: number, options: CallBodyReadOptions) {
    const length = this.#head.contentLength;
    let got = buffered;
    await this.sendContinue();
    // Each read brings at least one byte, so at most `length` reads.
    for (let reads = 0; got < length && reads < length; reads++) {
      this.#enter(PHASES.body, this.#ctx.limits.bodyTimeoutMs);
      const n = await this.#readRaced(target.subarray(got, length), options.call);
      if (n === null) throw new Error("the client closed the connection mid-body");
      got += n;
    }
    this.#phase = PHASES.busy;
    this.#bodyState = BODY_STATE.done;
    return got;
  }

  /** A chunked body, decoded from the read buffer into `target`. */
  async #readChunked(target: Uint8Array, options: CallBodyReadOptions): Promise<number> {
    const decoder = new ChunkedDecoder(target.subarray(0, options.limitBytes));
    const buf = this.#buf;
    try {
      // Each pass consumes at least one byte of a bounded body, or ends.
      for (let pass = 0; pass <= options.limitBytes + buf.length; pass++) {
        this.#start = decoder.feed(buf, this.#start, this.#end);
        if (decoder.done) break;
        this.#start = this.#end = 0;
        if (pass === 0) await this.sendContinue();
        this.#enter(PHASES.body, this.#ctx.limits.bodyTimeoutMs);
        const n = await this.#readRaced(buf, options.call);
        if (n === null) throw new Error("the client closed the connection mid-body");
        this.#end = n;
      }
    } catch (error) {
      if (!(error instanceof ChunkedError)) throw error;
      if (error.status === 413) {
        throw new RpcError("resource_exhausted", error.message, { httpStatus: 413 });
      }
      throw new RpcError("invalid_argument", error.message);
    }
    if (!decoder.done) throw new RpcError("invalid_argument", "Cannot read body: too long");
    this.#phase = PHASES.busy;
    this.#bodyState = BODY_STATE.done;
    return decoder.lengthBytes;
  }

  /** `100 Continue`, when the client asked for it and sent nothing of the body yet. */
  async sendContinue(): Promise<void> {
    if (!this.#head.expectContinue || this.#bodyBuffered) return;
    this.#bodyBuffered = true;
    await writeAll(this.#conn, CONTINUE);
  }

  /** One socket read into `view`, raced against the call (see readRaced). */
  #readRaced(view: Uint8Array, call: CallSignal): Promise<number | null> {
    return readRaced(this.#conn, view, { call, onLate: () => this.destroy() });
  }

  /**
   * Reads more bytes into the read buffer under the body timeout (the fetch bridge's body
   * stream); null at the end of the stream.
   */
  async fill(): Promise<number | null> {
    const buf = this.#buf;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === buf.length) {
      buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#enter(PHASES.body, this.#ctx.limits.bodyTimeoutMs);
    const n = await this.#conn.read(buf.subarray(this.#end));
    this.#phase = PHASES.busy;
    if (n !== null) this.#end += n;
    return n;
  }

  /** Buffered bytes not consumed yet: `[start, end)` of `buffer`. */
  get bufferedStart(): number {
    return this.#start;
  }
  get bufferedEnd(): number {
    return this.#end;
  }

  /** Marks `n` buffered bytes as consumed. */
  consume(n: number): void {
    this.#start += n;
  }

  /** The fetch bridge's body stream ended: the body is read (or failed: `ok` false). */
  bodyRead(ok: boolean): void {
    this.#bodyState = ok ? BODY_STATE.done : BODY_STATE.broken;
  }

  /** Whether the request body is still unread (the bridge then decides to skip or stream it). */
  get bodyUnread(): boolean {
    return this.#bodyState === BODY_STATE.unread;
  }

  /**
   * The client's abort signal for an asynchronous handler: a read of the next request's bytes
   * starts now, and its end of stream (or failure) means the client went away. Whatever it
   * reads is the next pipelined request, which the loop takes up after the answer.
   */
  clientSignal(): AbortSignal | null {
    if (this.#watch !== null) return this.#watch.signal;
    const controller = new AbortController();
    this.#watch = controller;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#pendingRead === null && this.#end < this.#buf.length && !this.#closing) {
      const reading = this.#conn.read(this.#buf.subarray(this.#end));
      this.#pendingRead = reading;
      reading.then(
        (n) => {
          if (n === null) controller.abort(new Error("the client closed the connection"));
        },
        (error) => controller.abort(error),
      );
    }
    return controller.signal;
  }
}
