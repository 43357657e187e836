/**
 * How streams end (RFC 9113 §5.1, §5.4.2, §8.1): a complete response closes its stream (with
 * RST_STREAM(NO_ERROR) when the upload is still open), a stream error or a peer reset aborts
 * it, a handler reset or a handler failure ends it quietly, a response stuck on a zero window is
 * reset at the write-stall timeout. Every way tells the handler at most once (`onAbort`, never
 * after the response completed), fails the response's pending output (so the caller releases
 * the memory it lent), and updates the stream table.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import { H2_ERROR, H2Error, type H2ErrorCodeName, streamError } from "./errors.ts";
import { FLOOD, FloodGuard } from "./flood.ts";
import type { H2Limits } from "./limits.ts";
import { Sender, type SenderOwner } from "./sender.ts";
import { type H2Stream, RESPONSE } from "./stream.ts";
import { CLOSED, StreamTable } from "./stream_table.ts";

/** What the stream lifecycle tells the connection. */
export interface LifecycleOwner {
  /** Something must be checked at `atMs` (the connection's one timeout). */
  deadlineAt(atMs: number): void;
  /** The last open stream closed. */
  onIdle(): void;
  /** A handler callback threw. */
  onHandlerError(error: unknown): void;
  /** A write failed: the connection is gone. */
  onWriteError(error: unknown): void;
}

/**
 * The streams of a connection, their sender and their ends.
 *
 * @example
 * ```ts
 * const life = new StreamLifecycle(conn, clock, limits, owner);
 * life.answerStreamError(streamError("PROTOCOL_ERROR", 3, "malformed"));
 * ```
 */
export class StreamLifecycle implements SenderOwner {
  readonly sender: Sender;
  readonly table = new StreamTable();
  readonly flood: FloodGuard;
  readonly #clock: Clock;
  readonly #owner: LifecycleOwner;
  readonly #lingerTimeoutMs: number;
  /**
   * Streams answered early whose short upload may still come (see `onResponseComplete`), with
   * when they started to linger; bounded by the concurrent streams.
   */
  readonly #lingering = new Map<H2Stream, number>();

  constructor(conn: Deno.Conn, clock: Clock, limits: H2Limits, owner: LifecycleOwner) {
    this.#clock = clock;
    this.#owner = owner;
    this.#lingerTimeoutMs = limits.lingerTimeoutMs;
    this.sender = new Sender(
      conn,
      clock,
      limits.outputBufferBytes,
      this,
      limits.writeStallTimeoutMs,
      limits.maxConcurrentStreams,
    );
    this.flood = new FloodGuard(limits);
  }

  /** Removes a stream from the table; the last one makes the connection idle. */
  close(stream: H2Stream, how: number): void {
    this.#lingering.delete(stream);
    this.table.close(stream, how);
    if (this.table.size === 0) this.#owner.onIdle();
  }

  /** Ends a stream before its response completed; tells the handler unless `quiet`. */
  abort(stream: H2Stream, error: Error, how: number, quiet = false): void {
    if (stream.closed) return;
    const completed = stream.response === RESPONSE.COMPLETE;
    this.close(stream, how);
    stream.failOutput(error);
    if (quiet || completed || stream.handler === null) return;
    try {
      stream.handler.onAbort(error);
    } catch (failure) {
      this.#owner.onHandlerError(failure);
    }
  }

  /** A stream error found in the peer's frames: RST_STREAM, abort, and count it. */
  answerStreamError(error: H2Error): void {
    this.sender.output.rstStream(error.streamId, error.code);
    const stream = this.table.get(error.streamId);
    if (stream !== undefined) this.abort(stream, error, CLOSED.OUR_RESET);
    else this.table.remember(error.streamId, CLOSED.OUR_RESET);
    this.flood.count(FLOOD.STREAM_ERROR, this.#clock.nowMs);
  }

  /** A handler callback threw: the stream is reset INTERNAL_ERROR, quietly. */
  handlerFailed(stream: H2Stream, error: unknown): void {
    this.#owner.onHandlerError(error);
    if (stream.closed) return;
    this.sender.output.rstStream(stream.id, H2_ERROR.INTERNAL_ERROR);
    const reason = new H2Error("INTERNAL_ERROR", `the handler of stream ${stream.id} failed`);
    this.abort(stream, reason, CLOSED.OUR_RESET, true);
  }

  /** Resets (CANCEL) every stream whose response waited for a window since before `sinceMs`. */
  resetStalled(sinceMs: number): void {
    for (const stream of this.sender.stalledBefore(sinceMs)) {
      this.sender.output.rstStream(stream.id, H2_ERROR.CANCEL);
      const error = streamError("CANCEL", stream.id, "the response write stalled (zero window)");
      this.abort(stream, error, CLOSED.OUR_RESET);
    }
    this.sender.scheduleFlush();
  }

  /** The connection ended: every open stream is aborted with `error`. */
  abortAll(error: Error): void {
    for (const stream of this.table.streams()) this.abort(stream, error, CLOSED.OUR_RESET);
  }

  // --- SenderOwner. ---

  onResponseComplete(stream: H2Stream): void {
    if (stream.remoteEnded) return this.close(stream, CLOSED.ENDED);
    // The rest of a declared body that fits the window the peer already has will come without
    // a WINDOW_UPDATE: it is let come (and dropped) for at most `lingerTimeoutMs`, instead of a
    // reset. The reset goes in a write after the answer's (curl 7.88 fails an answer followed by
    // RST_STREAM in the same read); that second small write per early answer, on a TLS socket
    // without TCP_NODELAY (Deno offers none), meets the peer's delayed ACK: ~40 ms per call.
    const rest = stream.contentLengthBytes - stream.receivedBytes;
    if (stream.contentLengthBytes >= 0 && rest <= stream.recvWindow) {
      const now = this.#clock.nowMs;
      this.#lingering.set(stream, now);
      this.#owner.deadlineAt(now + this.#lingerTimeoutMs);
      return;
    }
    // RFC 9113 §8.1: a complete response may end the upload with RST_STREAM(NO_ERROR).
    this.sender.resetAfterAnswer(stream.id);
    this.close(stream, CLOSED.OUR_RESET);
  }

  /**
   * Resets (NO_ERROR) the lingering streams whose upload did not end in time; returns when the
   * next one is due, 0 when none lingers. Bounded by the concurrent streams.
   */
  resetLingering(nowMs: number): number {
    let next = 0;
    for (const [stream, sinceMs] of this.#lingering) {
      const dueMs = sinceMs + this.#lingerTimeoutMs;
      if (dueMs <= nowMs) {
        this.sender.output.rstStream(stream.id, H2_ERROR.NO_ERROR);
        this.close(stream, CLOSED.OUR_RESET);
        this.sender.scheduleFlush();
      } else if (next === 0 || dueMs < next) next = dueMs;
    }
    return next;
  }

  onHandlerReset(stream: H2Stream, codeName: H2ErrorCodeName): void {
    this.sender.output.rstStream(stream.id, H2_ERROR[codeName]);
    this.abort(
      stream,
      streamError(codeName, stream.id, "reset by its handler"),
      CLOSED.OUR_RESET,
      true,
    );
    this.sender.scheduleFlush();
  }

  deadlineAt(atMs: number): void {
    this.#owner.deadlineAt(atMs);
  }

  onWriteError(error: unknown): void {
    this.#owner.onWriteError(error);
  }
}
