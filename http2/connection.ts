/**
 * One HTTP/2 server connection on any `Deno.Conn` (a TLS conn whose ALPN chose h2, or a
 * plaintext conn that opened with the preface: h2c with prior knowledge, RFC 9113 §3.3): the
 * read loop, the connection's one timeout, and its lifecycle — graceful shutdown with GOAWAY and
 * a bounded drain, closing on errors, destroy.
 *
 * The read loop reads into one buffer and hands whole frames to the dispatcher, which parses
 * them in place; the partial frame at the end moves to the front before the next read. All
 * frames produced while handling a read leave in one write. When the output has no room for
 * control frames (a peer that does not read), the loop stops reading until it drains, and the
 * write-stall timeout closes a connection whose writes do not complete.
 *
 * Every timeout is one `Timeout` entry of the service's clock, armed at the earliest deadline
 * and re-armed when it fires: the preface and any partial frame or header block
 * (`headerBlockTimeoutMs`), the SETTINGS ACK, idleness (no open stream), a stalled write or a
 * response stuck on a zero window (`writeStallTimeoutMs`), and the shutdown drain.
 *
 * @example
 * ```ts
 * const connection = new H2Connection(conn, { handler, clock });
 * await connection.run(); // resolves when the connection is closed
 * ```
 * @module
 */

import type { Clock, Timeout } from "../clock/mod.ts";
import { Dispatcher, type DispatcherOwner } from "./dispatcher.ts";
import { H2_ERROR, H2Error } from "./errors.ts";
import { CONNECTION_PREFACE } from "./frame.ts";
import type { H2Handler } from "./handler.ts";
import {
  CLOSED_STREAMS_BYTES,
  H2_LIMITS_DEFAULT,
  type H2Limits,
  HEAP_BYTES_PER_HEADER_BYTE,
  STREAM_STATE_BYTES,
} from "./limits.ts";

/** Options of {@link H2Connection}. */
export interface H2ConnectionOptions {
  /** Serves the requests. */
  readonly handler: H2Handler;
  /** The service's one clock (every timeout of the connection is an entry of it). */
  readonly clock: Clock;
  /** Limits (from `h2Limits`); the defaults when absent. */
  readonly limits?: H2Limits;
  /** Bytes the listener already read from the conn (e.g. the start of the preface). */
  readonly preread?: Uint8Array;
  /** A handler callback threw (the stream was reset INTERNAL_ERROR); default: console.error. */
  readonly onHandlerError?: (error: unknown) => void;
}

/** GOAWAY debug data is cut to this many bytes. */
const GOAWAY_DEBUG_BYTES_MAX = 128;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function debugBytes(message: string): Uint8Array {
  return encoder.encode(message.replace(/[^\x20-\x7e]/g, "?").slice(0, GOAWAY_DEBUG_BYTES_MAX));
}

/**
 * An HTTP/2 server connection.
 *
 * @example
 * ```ts
 * const connection = new H2Connection(conn, { handler, clock, limits: h2Limits() });
 * const done = connection.run();
 * await connection.shutdown(); // GOAWAY, streams in flight finish, then close
 * await done;
 * ```
 */
export class H2Connection implements Timeout, DispatcherOwner {
  clockSlot = -1;
  deadlineAtMs = 0;
  /** The connection error that closed the connection (null: closed without one). */
  closeError: H2Error | null = null;
  readonly #conn: Deno.Conn;
  readonly #clock: Clock;
  readonly #limits: H2Limits;
  readonly #dispatcher: Dispatcher;
  readonly #buf: Uint8Array;
  readonly #onHandlerError: (error: unknown) => void;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;
  #start = 0;
  #end = 0;
  #prefaceDone = false;
  #startedAtMs = 0;
  #partialSinceMs = 0;
  #idleSinceMs = 0;
  #drainDeadlineMs = 0;
  #running = false;
  #closing = false;
  #closed = false;

  constructor(conn: Deno.Conn, options: H2ConnectionOptions) {
    this.#conn = conn;
    this.#clock = options.clock;
    this.#limits = options.limits ?? H2_LIMITS_DEFAULT;
    this.#onHandlerError = options.onHandlerError ??
      ((error) => console.error("http2: a handler failed:", error));
    this.#buf = new Uint8Array(this.#limits.readBufferBytes);
    const preread = options.preread ?? EMPTY;
    if (preread.length > this.#buf.length) {
      throw new RangeError(
        `Cannot serve HTTP/2: ${preread.length} preread bytes exceed the buffer`,
      );
    }
    this.#buf.set(preread);
    this.#end = preread.length;
    this.#dispatcher = new Dispatcher(conn, options.handler, this.#clock, this.#limits, this);
    this.#finished = new Promise((resolve) => this.#resolveFinished = resolve);
  }

  /** Open (and half-closed) streams now. */
  get openStreamCount(): number {
    return this.#dispatcher.table.size;
  }

  /** No stream is open (the listener may evict the connection). */
  get idle(): boolean {
    return this.#dispatcher.table.size === 0;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The engine's own accounting of what this connection holds (limits.ts's formula, term by
   * term, with the terms' current values): never above `h2ConnectionMemoryBoundBytes`.
   */
  get heldBytes(): number {
    const d = this.#dispatcher;
    const decoder = d.blocks.decoder;
    const lastList = Math.min(decoder.headerListBytes, decoder.headerListBytesMax);
    const headerBytes = decoder.table.sizeBytes + lastList + d.table.heldHeadBytes +
      d.blocks.cache.bytes;
    return this.#buf.length + d.sender.output.buf.length + d.blocks.assemblyBytes +
      HEAP_BYTES_PER_HEADER_BYTE * headerBytes + d.table.size * STREAM_STATE_BYTES +
      d.sender.cachedHeadBytes + CLOSED_STREAMS_BYTES;
  }

  /** Serves the connection; resolves when it is closed (never rejects). */
  async run(): Promise<void> {
    if (this.#running) throw new TypeError("Cannot run an HTTP/2 connection twice");
    this.#running = true;
    try {
      this.#startedAtMs = this.#clock.nowMs;
      this.#idleSinceMs = this.#startedAtMs;
      this.deadlineAt(this.#startedAtMs + this.#limits.headerBlockTimeoutMs);
      this.deadlineAt(this.#startedAtMs + this.#limits.idleTimeoutMs);
      this.#dispatcher.start();
      this.#dispatcher.sender.flushNow();
      await this.#readLoop();
    } catch (error) {
      await this.#failed(error);
    } finally {
      this.#teardown();
    }
  }

  /**
   * Graceful close: GOAWAY with the last stream ID; streams in flight finish (for at most
   * `drainTimeoutMs`), then the connection closes. Resolves when it is closed.
   */
  shutdown(): Promise<void> {
    if (!this.#running) {
      this.destroy();
      this.#teardown();
    } else if (!this.#closed) {
      this.#beginDrain();
    }
    return this.#finished;
  }

  /** Closes now: pending reads and writes fail, open streams are aborted. Idempotent. */
  destroy(): void {
    this.#closing = true;
    this.#dispatcher.sender.close();
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  async #readLoop(): Promise<void> {
    const buf = this.#buf;
    const dispatcher = this.#dispatcher;
    // Each pass handles what was read, then reads at least one more byte or ends; the loop is
    // meant to run for the connection's life (its timeouts and caps bound that).
    for (;;) {
      if (this.#closing) return;
      if (!this.#prefaceDone) this.#checkPreface();
      if (this.#prefaceDone) this.#start = dispatcher.process(buf, this.#start, this.#end);
      dispatcher.sender.flushNow();
      if (dispatcher.pausedForOutput) {
        await dispatcher.sender.output.drained();
        continue;
      }
      this.#compact();
      const read = await this.#conn.read(this.#end === 0 ? buf : buf.subarray(this.#end));
      if (read === null) return;
      this.#end += read;
    }
  }

  /** Checks the client preface (RFC 9113 §3.4) as its bytes arrive. */
  #checkPreface(): void {
    const buf = this.#buf;
    const available = Math.min(this.#end - this.#start, CONNECTION_PREFACE.length);
    for (let i = 0; i < available; i++) {
      if (buf[this.#start + i] !== CONNECTION_PREFACE[i]) {
        throw new H2Error("PROTOCOL_ERROR", "invalid connection preface");
      }
    }
    if (available < CONNECTION_PREFACE.length) return;
    this.#start += CONNECTION_PREFACE.length;
    this.#prefaceDone = true;
  }

  /** Moves a partial frame to the front and notes since when one is waiting. */
  #compact(): void {
    const left = this.#end - this.#start;
    if (left > 0 && this.#start > 0) this.#buf.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = left;
    if (left === 0) {
      this.#partialSinceMs = 0;
    } else if (this.#partialSinceMs === 0) {
      this.#partialSinceMs = this.#clock.nowMs;
      this.deadlineAt(this.#partialSinceMs + this.#limits.headerBlockTimeoutMs);
    }
  }

  /** A connection error is answered with GOAWAY; any other failure just closes. */
  async #failed(error: unknown): Promise<void> {
    if (this.#closing) return;
    if (!(error instanceof H2Error)) {
      if (
        !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
          error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
          error instanceof Deno.errors.UnexpectedEof || error instanceof Deno.errors.InvalidData)
      ) {
        this.#onHandlerError(error);
      }
      return;
    }
    this.#sendGoawayAndClose(error);
    await this.#dispatcher.sender.output.drained();
  }

  /** GOAWAY(`error`), then close once it was written (the write-stall timeout bounds that). */
  #sendGoawayAndClose(error: H2Error): void {
    if (this.#closing) return;
    this.#closing = true;
    this.closeError = error;
    const dispatcher = this.#dispatcher;
    dispatcher.sendGoaway(error.code, debugBytes(error.message));
    dispatcher.sender.flushNow();
    dispatcher.sender.output.drained().then(() => this.destroy());
  }

  /** GOAWAY NO_ERROR; the connection closes when its last stream does (or at the drain deadline). */
  #beginDrain(): void {
    const dispatcher = this.#dispatcher;
    if (!dispatcher.goawaySent) {
      dispatcher.sendGoaway(H2_ERROR.NO_ERROR, EMPTY);
      dispatcher.sender.flushNow();
    }
    if (this.#drainDeadlineMs === 0) {
      this.#drainDeadlineMs = this.#clock.nowMs + this.#limits.drainTimeoutMs;
      this.deadlineAt(this.#drainDeadlineMs);
    }
    if (dispatcher.table.size === 0) this.#closeWhenWritten();
  }

  #closeWhenWritten(): void {
    if (this.#closing) return;
    this.#closing = true;
    const sender = this.#dispatcher.sender;
    sender.flushNow();
    sender.output.drained().then(() => this.destroy());
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#clock.disarm(this);
    const reason = this.closeError ??
      new Error("Cannot finish the stream: the HTTP/2 connection closed");
    this.#dispatcher.abortAll(reason);
    this.destroy();
    this.#resolveFinished();
  }

  // --- DispatcherOwner. ---

  deadlineAt(atMs: number): void {
    if (this.#closed) return;
    if (!this.#clock.isArmed(this) || atMs < this.deadlineAtMs) this.#clock.arm(this, atMs);
  }

  onIdle(): void {
    this.#idleSinceMs = this.#clock.nowMs;
    this.deadlineAt(this.#idleSinceMs + this.#limits.idleTimeoutMs);
    const dispatcher = this.#dispatcher;
    if (dispatcher.goawaySent || dispatcher.peerGoaway) this.#closeWhenWritten();
  }

  onStreamsExhausted(): void {
    this.#beginDrain();
  }

  onHandlerError(error: unknown): void {
    this.#onHandlerError(error);
  }

  onWriteError(): void {
    this.destroy();
  }

  // --- Timeout: every deadline of the connection. ---

  onTimeout(nowMs: number): void {
    if (this.#closed) return;
    const limits = this.#limits;
    const dispatcher = this.#dispatcher;
    let next = Infinity;
    /** Whether `sinceMs + timeoutMs` has passed; else remembers it as a later deadline. */
    const due = (sinceMs: number, timeoutMs: number): boolean => {
      if (sinceMs <= 0) return false;
      if (sinceMs + timeoutMs <= nowMs) return true;
      next = Math.min(next, sinceMs + timeoutMs);
      return false;
    };
    const output = dispatcher.sender.output;
    if (due(output.writeStartedAtMs, limits.writeStallTimeoutMs) || due(this.#drainDeadlineMs, 0)) {
      return this.destroy();
    }
    const slow =
      (!dispatcher.prefaceSettingsSeen && due(this.#startedAtMs, limits.headerBlockTimeoutMs)) ||
      due(this.#partialSinceMs, limits.headerBlockTimeoutMs) ||
      due(dispatcher.blocks.startedAtMs, limits.headerBlockTimeoutMs);
    if (slow) {
      return this.#sendGoawayAndClose(
        new H2Error("ENHANCE_YOUR_CALM", "frame or header block too slow"),
      );
    }
    if (due(dispatcher.settingsSentAtMs, limits.settingsAckTimeoutMs)) {
      return this.#sendGoawayAndClose(new H2Error("SETTINGS_TIMEOUT", "no SETTINGS ACK"));
    }
    // Idle: no stream, and no frame or header block on its way (those have their own timeout).
    const quiet = dispatcher.table.size === 0 && this.#partialSinceMs === 0 &&
      dispatcher.blocks.streamId === 0;
    if (quiet && due(this.#idleSinceMs, limits.idleTimeoutMs)) return this.#beginDrain();
    const lingerDue = dispatcher.resetLingering(nowMs);
    if (lingerDue > 0) next = Math.min(next, lingerDue);
    const oldest = dispatcher.sender.oldestBlockedSinceMs;
    if (due(oldest, limits.writeStallTimeoutMs)) {
      dispatcher.resetStalled(nowMs - limits.writeStallTimeoutMs);
      const after = dispatcher.sender.oldestBlockedSinceMs;
      if (after > 0) next = Math.min(next, after + limits.writeStallTimeoutMs);
    }
    if (next !== Infinity) this.#clock.arm(this, next);
  }
}
