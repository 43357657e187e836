/**
 * One HTTP/1.1 connection (plaintext, or TLS whose ALPN chose http/1.1): a loop reading request
 * heads into one reused buffer. A target in the /rpc namespace (rpc/route.ts) is opened in the
 * call core; the connection pushes the body into the call (the buffered part copied, the rest
 * read by `conn.read` straight into the call's lease) and writes the answer the core hands back.
 * Every other request goes to the Hono app (`fetch_bridge.ts`). No Request or Response object is
 * made for a call.
 *
 * The connection owns only HTTP/1.1's own concerns: framing, keep-alive, pipelining, `Expect:
 * 100-continue`, and its timeouts (idle keep-alive, a head that trickles in, a write that does
 * not progress). Everything about the call — lookup, auth, limits, the lease, the body's size and
 * stall timeout, the deadline, the answer — is the core's.
 *
 * @module
 */

import type { Timeout } from "../clock/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import type { AnswerSink, CallAnswer } from "../rpc/answer.ts";
import type { CallBody } from "../rpc/core.ts";
import { matchRpcTarget, TARGET_APP } from "../rpc/route.ts";
import type { ServedConnection } from "../listener/tcp_listener.ts";
import { AnswerWriter, type WriterHost } from "./answer_writer.ts";
import type { BufferPair } from "./buffers.ts";
import { readBody } from "./body_reader.ts";
import type { ServerContext } from "./context.ts";
import { serveFetch } from "./fetch_bridge.ts";
import { findHeadEnd, HeadError, parseHead, RequestHead, skipEmptyLines } from "./head.ts";
import { HEAD_CLOSE, HEAD_KEEP_ALIVE, HEAD_PLAIN, type HeadOptions } from "./response.ts";
import { BODY_STATE, type ConnectionIo, writeAll } from "./_private.ts";

/** Where a connection is; the timeout that applies depends on it. */
export const PHASES = { idle: 0, head: 1, busy: 2, write: 3, linger: 4 } as const;

/** The most requests one connection serves before it closes (bounds the loop). */
export const REQUESTS_PER_CONNECTION_MAX = 2 ** 31;

/** Free room below which the read buffer is compacted before the next read. */
const READ_ROOM_MIN = 4096;

/**
 * A connection and its per-request state. It is its own answer sink, write host and timeout,
 * so a call costs no extra objects.
 *
 * @example
 * ```ts
 * const connection = new Connection(conn, context);
 * await connection.run();
 * ```
 */
export class Connection implements AnswerSink, WriterHost, Timeout, ServedConnection, ConnectionIo {
  clockSlot = -1;
  deadlineAtMs = 0;
  readonly #conn: Deno.Conn;
  readonly #ctx: ServerContext;
  readonly #buf: Uint8Array;
  readonly #buffers: BufferPair;
  readonly #writer: AnswerWriter;
  readonly #head: RequestHead;
  #start = 0;
  #end = 0;
  #phase: number = PHASES.idle;
  #closing = false;
  #closed = false;
  bodyState: number = BODY_STATE.none;
  #bodyBuffered = false;
  #pendingRead: Promise<number | null> | null = null;
  #scanFrom = 0;
  #headStarted = false;
  /** No request was parsed yet (the h2c preface can only come first). */
  #firstHead = true;
  /** The buffered bytes are a proper prefix of the h2 preface. */
  #prefacePending = false;
  /** The answer of the current call, when it arrived before the connection waited for it. */
  #answer: CallAnswer | null = null;
  #waiter: (() => void) | null = null;
  /** A body read is in flight: an answer arriving now is written out of band, then we close. */
  #bodyReading = false;
  #lateWrite: Promise<void> | null = null;

  #done: Promise<void> | null = null;
  /** The connection ends after an answer whose request body was not read (see `#linger`). */
  #lingerOnClose = false;
  /** Bytes of a refused request's body still to be read and dropped before the next head. */
  #discardLeft = 0;
  /** The HTTP/2 connection this one became (h2c prior knowledge), or null. */
  #h2: ServedConnection | null = null;

  constructor(conn: Deno.Conn, ctx: ServerContext, preread: Uint8Array | null = null) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#buffers = ctx.buffers.take();
    this.#buf = this.#buffers.read;
    if (preread !== null) {
      if (preread.length > this.#buf.length) {
        throw new RangeError(`Cannot serve connection: ${preread.length} bytes pre-read`);
      }
      this.#buf.set(preread);
      this.#end = preread.length;
    }
    this.#head = new RequestHead(ctx.transport);
    this.#head.share = ctx.core.deps.shares.connectionAccount();
    this.#writer = new AnswerWriter(conn, this, { out: this.#buffers.out, encoder: ctx.encoder });
  }

  /** The parsed head of the current request (valid while it is served). */
  get requestHead(): RequestHead {
    return this.#head;
  }

  /** The read buffer and its unconsumed bytes `[bufferedStart, bufferedEnd)`. */
  get buffer(): Uint8Array {
    return this.#buf;
  }
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

  /** The socket (the body reader reads the rest of a body from it). */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Serves requests until the client closes, an error, a timeout or a `Connection: close`. */
  run(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  /**
   * Resolves once no request is in flight here: at once when idle (a request that still comes
   * is answered 503 and closes), else when the current one ended (the connection then closes).
   */
  drain(): Promise<void> {
    if (this.#h2 !== null) return this.#h2.drain?.() ?? Promise.resolve();
    if (this.idle) return Promise.resolve();
    return this.#done ?? Promise.resolve();
  }

  async #run(): Promise<void> {
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
        this.#ctx.requestStarted();
        let keep: boolean;
        try {
          const serving = this.#serve();
          keep = typeof serving === "boolean" ? serving : await serving;
        } finally {
          this.#ctx.requestEnded();
        }
        if (!keep || this.#ctx.draining) {
          if (this.#discardLeft > 0) this.#lingerOnClose = true;
          break;
        }
        if (this.#discardLeft > 0) {
          const count = this.#discardLeft;
          this.#discardLeft = 0;
          if (!(await this.#drop(count))) break;
        }
      }
    } catch (error) {
      if (error === H2C_PREFACE) {
        await this.#becomeH2();
        return;
      }
      // A bad head is answered; any other error is the connection failing (reset, closed by a
      // timeout or by shutdown): nothing is left to answer.
      if (error instanceof HeadError && !this.#closing) {
        await this.refuse(error.toRpcError()).catch(() => {});
      }
    } finally {
      await this.#lateWrite?.catch(() => {});
      await this.#writer.flushed().catch(() => {});
      if (this.#lingerOnClose && !this.#closing) await this.#linger();
      this.destroy();
      // The buffers go back only once no read into them can still be pending.
      await this.#pendingRead?.catch(() => {});
      this.#ctx.buffers.give(this.#buffers);
    }
  }

  /**
   * Reads and drops the next `count` bytes the client sends: the rest of a refused request's
   * body (nginx's discarded body), so the connection serves the next request instead of closing
   * — under overload every refused upload would otherwise cost the client a new connection (and
   * a TLS handshake), and the server the churn of one — or, in a lingering close, whatever still
   * comes. Bytes already buffered count first. Reads never go past `count`, so the next request's
   * bytes stay in the buffer. One timeout for the whole drop, the connection's own (LINGER_MS):
   * when it fires it closes the socket and the pending read rejects; a race per read (a promise,
   * closures and a timer entry for each of the ~40 reads a refused 700 KB upload takes) was most
   * of the garbage a refusal made. False when the connection must end (the client left, or the
   * timeout fired).
   */
  async #drop(count: number): Promise<boolean> {
    this.#enter(PHASES.linger, LINGER_MS);
    const drain = this.#ctx.buffers.drain;
    let left = count;
    // Each pass drops at least one byte or ends; bounded by `count` and the timeout.
    while (left > 0) {
      let n: number | null;
      if (this.#end > this.#start) {
        n = Math.min(left, this.#end - this.#start);
        this.#start += n;
      } else if (this.#pendingRead !== null) {
        n = await this.#pendingRead.catch(() => null);
        this.#pendingRead = null;
        if (n !== null) this.#end += n;
        continue;
      } else {
        // The whole drain buffer unless less is left: no view, closure or promise to make for
        // the ~40 reads (over TLS one 16 KiB record each) a refused 700 KB upload takes.
        try {
          n = await this.#conn.read(left >= drain.length ? drain : drain.subarray(0, left));
        } catch {
          n = null;
        }
      }
      if (n === null || this.#closing) return false;
      left -= n;
    }
    return true;
  }

  /**
   * A lingering close (nginx's `lingering_close`): after an answer to a request whose body was
   * not read, our side is shut for writing and what the client still sends is read and dropped,
   * for at most LINGER_MS and LINGER_BYTES_MAX, before the socket closes. Closing at once with
   * unread bytes makes the kernel send a reset, and a client still uploading then loses the
   * answer it was sent (seen as "fetch failed" on early 503s over TLS).
   */
  async #linger(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch {
      return; // Closed already.
    }
    await this.#drop(LINGER_BYTES_MAX);
  }

  /** Hands the connection to HTTP/2 with what was read so far, and serves it there. */
  async #becomeH2(): Promise<void> {
    this.#ctx.clock.disarm(this);
    this.#phase = PHASES.busy;
    const preread = this.#buf.slice(this.#start, this.#end);
    this.#h2 = this.#ctx.h2c!(this.#conn, preread);
    await this.#h2.run();
  }

  /** Closes the socket now (pending reads and writes reject). Idempotent. */
  destroy(): void {
    if (this.#h2 !== null) {
      this.#h2.destroy();
      return;
    }
    this.#closing = true;
    this.#ctx.clock.disarm(this);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * Whether the connection waits for a next request, or only lingers before its close (the
   * listener's idle eviction may close either at once).
   */
  get idle(): boolean {
    if (this.#h2 !== null) return this.#h2.idle;
    return (this.#phase === PHASES.idle || this.#phase === PHASES.linger) && !this.#closing;
  }

  /**
   * Called by the clock: past the deadline of an idle, head, write or linger phase the
   * connection closes, after a 408 when no byte of an answer was sent yet.
   */
  onTimeout(nowMs: number): void {
    if (this.#closed || this.#phase === PHASES.busy) return;
    if (
      this.#closing || this.#phase === PHASES.idle || this.#phase === PHASES.linger ||
      this.#writer.answerStarted
    ) {
      this.destroy();
      return;
    }
    this.#closing = true;
    // One more period for the 408 itself, then the next timeout closes regardless.
    this.#ctx.clock.arm(this, nowMs + this.#ctx.limits.writeTimeoutMs);
    this.#writer.answerStarted = true;
    const error = new RpcError("deadline_exceeded", "Cannot read request head: timed out", {
      httpStatus: 408,
    });
    const bytes = this.#ctx.encoder.wholeAnswer(this.#ctx.core.refusal(error, null), HEAD_CLOSE);
    writeAll(this.#conn, bytes).catch(() => {}).finally(() => this.destroy());
  }

  #enter(phase: number, timeoutMs: number): void {
    this.#phase = phase;
    const clock = this.#ctx.clock;
    clock.arm(this, clock.nowMs + timeoutMs);
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
    if (this.#firstHead && this.#ctx.h2c !== null && this.#prefaceSeen()) throw H2C_PREFACE;
    if (this.#end > this.#start && !this.#prefacePending) {
      if (!this.#headStarted) {
        this.#headStarted = true;
        this.#enter(PHASES.head, this.#ctx.limits.headTimeoutMs);
      }
      const headEnd = findHeadEnd(buf, this.#start, { end: this.#end, scanFrom: this.#scanFrom });
      if (headEnd >= 0) {
        parseHead(buf, this.#start, { headEnd, head: this.#head });
        this.#start = headEnd;
        this.#firstHead = false;
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
   * Whether the connection opened with the HTTP/2 preface. While fewer bytes than the preface
   * are buffered but they match its start, the head is not parsed yet (false, and the loop reads
   * more); once they differ, the connection is HTTP/1.1 for good.
   */
  #prefaceSeen(): boolean {
    const buf = this.#buf;
    const n = Math.min(this.#end - this.#start, H2_PREFACE.length);
    for (let i = 0; i < n; i++) {
      if (buf[this.#start + i] !== H2_PREFACE[i]) {
        this.#firstHead = false;
        this.#prefacePending = false;
        return false;
      }
    }
    // A partial match waits for more bytes (an empty buffer too, without the flag).
    this.#prefacePending = n > 0 && n < H2_PREFACE.length;
    return n === H2_PREFACE.length;
  }

  /**
   * Serves the parsed request; returns (or resolves) whether the connection stays open. Not an
   * async function: a call whose body is buffered and whose handler is synchronous is answered
   * without one.
   */
  #serve(): boolean | Promise<boolean> {
    const ctx = this.#ctx;
    const head = this.#head;
    this.#phase = PHASES.busy;
    ctx.clock.disarm(this);
    const bodyless = head.contentLength <= 0 && !head.chunked;
    this.bodyState = bodyless ? BODY_STATE.none : BODY_STATE.unread;
    this.#bodyBuffered = this.#end > this.#start;
    if (ctx.draining) return this.#refuseDraining();
    const buf = this.#buf;
    const end = matchRpcTarget(buf, head.targetStart, head.targetEnd);
    if (end === TARGET_APP) return serveFetch(this, ctx);
    head.setTarget(buf, head.targetStart, head.targetEnd, end);
    head.contentLengthBytes = head.chunked ? -1 : Math.max(0, head.contentLength);
    this.#answer = null;
    const call = ctx.core.open(head, this);
    if (call === null) return this.#afterCall(head.keepAlive && this.skipBufferedBody());
    if (this.bodyState === BODY_STATE.none) call.end();
    else {
      const reading = readBody(this, call);
      if (reading !== undefined) return reading.then(() => this.#answered(call));
    }
    return this.#answered(call);
  }

  /** Writes the call's answer once it is there; whether the connection stays open. */
  #answered(call: CallBody): boolean | Promise<boolean> {
    if (this.#lateWrite !== null) return this.#lateWrite.then(() => false, () => false);
    if (this.#answer !== null) {
      return this.#afterCall(this.#head.keepAlive && this.bodyFinished());
    }
    return this.#awaitAnswer(call);
  }

  /** An asynchronous handler: waits for the answer, aborting the call if the client leaves. */
  #awaitAnswer(call: CallBody): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.#waiter = () => resolve(this.#afterCall(this.#head.keepAlive && this.bodyFinished()));
      this.#watchClient(call);
    });
  }

  /**
   * A read of the next request's bytes starts now: its end of stream (or failure) means the
   * client went away, and the call is aborted. Whatever it reads is the next pipelined request,
   * which the loop takes up after the answer.
   */
  #watchClient(call: CallBody): void {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#pendingRead !== null || this.#end >= this.#buf.length || this.#closing) return;
    const reading = this.#conn.read(this.#buf.subarray(this.#end));
    this.#pendingRead = reading;
    reading.then((n) => {
      if (n === null) this.#clientGone(call);
    }, () => this.#clientGone(call));
  }

  #clientGone(call: CallBody): void {
    if (this.#answer !== null) return;
    call.abort(new Error("the client closed the connection"));
    this.#closing = true;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  // --- AnswerSink ---

  /** The core's answer: written now if a body read is in flight, else when the loop is ready. */
  answer(answer: CallAnswer): void {
    if (this.#bodyReading) {
      // Deadline or stalled body while a read is pending: answer, then close (which ends the
      // read, so the call's lease is let go).
      this.#bodyReading = false;
      this.bodyState = BODY_STATE.broken;
      this.#lateWrite = this.#writeAnswer(answer, false) ?? Promise.resolve();
      this.#lateWrite = this.#lateWrite.finally(() => this.destroy());
      return;
    }
    this.#answer = answer;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.();
  }

  /** Whether a body read is in flight (see `answer`). */
  get bodyReading(): boolean {
    return this.#bodyReading;
  }
  set bodyReading(reading: boolean) {
    this.#bodyReading = reading;
  }

  /** Writes the current answer; resolves (or returns) `keep`. */
  #afterCall(keep: boolean): boolean | Promise<boolean> {
    const answer = this.#answer;
    this.#answer = null;
    if (answer === null) return false;
    // An answer before the body was read (a refusal): the client may still be sending it.
    if (!keep && this.bodyState !== BODY_STATE.done && this.bodyState !== BODY_STATE.none) {
      this.#lingerOnClose = true;
    }
    const writing = this.#writeAnswer(answer, keep);
    return writing === undefined ? keep : writing.then(() => keep);
  }

  /**
   * Whether the request's body is behind us: read, absent, or (unread) wholly buffered, in
   * which case it is skipped. False means the connection must close after the answer.
   */
  bodyFinished(): boolean {
    if (this.bodyState === BODY_STATE.unread) return this.skipBufferedBody();
    return this.bodyState !== BODY_STATE.broken;
  }

  /**
   * Skips an unread Content-Length body: at once when it is all buffered, else by reading and
   * dropping the rest before the next head (`#drop`) when it is at most
   * DISCARD_BYTES_MAX and the client is not waiting for a 100 (Continue) it will never get.
   * False when the connection must close after the answer instead (chunked, larger, or an
   * `Expect: 100-continue` body).
   */
  skipBufferedBody(): boolean {
    const head = this.#head;
    if (this.bodyState !== BODY_STATE.unread) return this.bodyState !== BODY_STATE.broken;
    const buffered = this.#end - this.#start;
    if (buffered >= head.contentLength && !head.chunked) {
      this.#start += head.contentLength;
      this.bodyState = BODY_STATE.done;
      return true;
    }
    const rest = head.contentLength - buffered;
    if (head.chunked || head.expectContinue || rest > DISCARD_BYTES_MAX) {
      this.bodyState = BODY_STATE.broken;
      return false;
    }
    this.#start += buffered;
    this.#discardLeft = rest;
    this.bodyState = BODY_STATE.done;
    return true;
  }

  /** The connection header an answer carries. */
  #headOptions(keep: boolean): HeadOptions {
    if (!keep) return HEAD_CLOSE;
    return this.#head.versionMinor === 0 ? HEAD_KEEP_ALIVE : HEAD_PLAIN;
  }

  #writeAnswer(answer: CallAnswer, keep: boolean): Promise<void> | undefined {
    return this.#writer.writeAnswer(answer, this.#headOptions(keep));
  }

  /** Writes bytes (looping over partial writes) under the write timeout. */
  write(bytes: Uint8Array): Promise<void> {
    return this.#writer.write(bytes);
  }

  /**
   * Reads more bytes into the read buffer (the body reader's chunked path); null at the end of
   * the stream. The buffer is compacted first when its unread bytes reach its end.
   */
  async fill(): Promise<number | null> {
    const buf = this.#buf;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === buf.length) {
      buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    const n = await this.#conn.read(buf.subarray(this.#end));
    if (n !== null) this.#end += n;
    return n;
  }

  // --- WriterHost ---
  get closing(): boolean {
    return this.#closing;
  }
  enterWrite(): void {
    this.#enter(PHASES.write, this.#ctx.limits.writeTimeoutMs);
  }
  leaveWrite(): void {
    this.#phase = PHASES.busy;
    this.#ctx.clock.disarm(this);
  }

  /** Answers `error` with the core's error body and `connection: close` (bad heads). */
  async refuse(error: RpcError): Promise<void> {
    if (this.#writer.answerStarted || this.#closing) return;
    const answer = this.#ctx.core.refusal(error, this.#head.contentType);
    await this.write(this.#ctx.encoder.wholeAnswer(answer, HEAD_CLOSE));
  }

  /** `100 Continue`, when the client asked for it and sent nothing of the body yet. */
  async sendContinue(): Promise<void> {
    if (!this.#head.expectContinue || this.#bodyBuffered) return;
    this.#bodyBuffered = true;
    await writeAll(this.#conn, CONTINUE);
  }

  /** The 503 a request gets while the server drains; the connection closes after it. */
  async #refuseDraining(): Promise<boolean> {
    const answer = this.#ctx.core.drainingAnswer(this.#head.contentType);
    await this.write(this.#ctx.encoder.wholeAnswer(answer, HEAD_CLOSE));
    return false;
  }
}

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * The largest rest of a refused body that is read and dropped to keep the connection (see
 * `#drop`); a larger one closes it (after a lingering close). 1 MiB: the size of the
 * uploads an overloaded service refuses most, and at loopback speed under a millisecond to read.
 */
const DISCARD_BYTES_MAX = 1024 * 1024;

/** A lingering close drops what the client still sends for at most this long... */
const LINGER_MS = 2000;
/** ...and at most this many bytes (the largest request a method takes, roughly). */
const LINGER_BYTES_MAX = 16 * 1024 * 1024;

/** RFC 9113 §3.4: the client connection preface. */
const H2_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Thrown out of the head loop when the connection opened with the h2 preface. */
const H2C_PREFACE = new Error("h2c prior knowledge");
