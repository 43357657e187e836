/**
 * The output buffer of one connection: frames are appended at its end, and one `conn.write` at
 * a time carries everything appended so far. While a write is in flight, new frames are
 * appended after the bytes being written (the write borrows only its own range); when it
 * completes, the unwritten rest moves to the front and the next write starts. So everything
 * produced while handling one read, and every answer produced while a write was in flight,
 * leaves in one write — with one buffer of fixed size per connection.
 *
 * @example
 * ```ts
 * const output = new Output(conn, clock, 32 * 1024, host);
 * output.buf.set(frame, output.length);
 * output.length += frame.length;
 * output.flush();
 * ```
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import { H2Error } from "./errors.ts";
import {
  FRAME_FLAG,
  FRAME_HEADER_BYTES,
  FRAME_TYPE,
  GOAWAY_FRAME_BYTES_MIN,
  PING_FRAME_BYTES,
  RST_STREAM_FRAME_BYTES,
  writeFrameHeader,
  writeGoaway,
  writePing,
  writeRstStream,
} from "./frame.ts";

/** What the output tells its owner. */
export interface OutputHost {
  /** A write started (its completion is watched by the write-stall timeout). */
  onWriteStarted(nowMs: number): void;
  /** A write completed and made room: pending DATA may be copied in. */
  onWritable(): void;
  /** A write failed: the connection is gone. */
  onWriteError(error: unknown): void;
}

/**
 * One connection's output buffer and its write loop.
 *
 * @example
 * ```ts
 * await output.drained(); // everything appended so far was written
 * ```
 */
export class Output {
  /** Pending bytes are `buf[0, length)`. */
  readonly buf: Uint8Array;
  /** Bytes appended and not yet written. */
  length = 0;
  /** When the write in flight started (clock ms), 0 when none is. */
  writeStartedAtMs = 0;
  /** Total bytes written (tests and stats). */
  writtenBytes = 0;
  readonly #conn: Deno.Conn;
  readonly #clock: Clock;
  readonly #host: OutputHost;
  #inFlightBytes = 0;
  #closed = false;
  #drainWaiters: (() => void)[] = [];

  constructor(conn: Deno.Conn, clock: Clock, bytes: number, host: OutputHost) {
    this.#conn = conn;
    this.#clock = clock;
    this.#host = host;
    this.buf = new Uint8Array(bytes);
  }

  /** Free bytes at the end of the buffer. */
  get room(): number {
    return this.buf.length - this.length;
  }

  /** Whether a write is in flight. */
  get writing(): boolean {
    return this.#inFlightBytes > 0;
  }

  /** Starts a write of everything pending, unless one is in flight (it will follow it). */
  flush(): void {
    if (this.#inFlightBytes > 0 || this.length === 0 || this.#closed) return;
    this.#inFlightBytes = this.length;
    this.writeStartedAtMs = this.#clock.nowMs;
    this.#host.onWriteStarted(this.writeStartedAtMs);
    this.#conn.write(this.buf.subarray(0, this.#inFlightBytes)).then(
      this.#onWritten,
      this.#onFailed,
    );
  }

  // --- Control frames: each must fit (the dispatcher keeps a reserve free for them). ---

  #at(bytes: number): number {
    if (this.room < bytes) {
      throw new H2Error("ENHANCE_YOUR_CALM", "the output buffer is full: the peer does not read");
    }
    return this.length;
  }

  /** Appends raw bytes (our SETTINGS frame). */
  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.#at(bytes.length));
    this.length += bytes.length;
  }

  rstStream(streamId: number, code: number): void {
    this.length = writeRstStream(this.buf, this.#at(RST_STREAM_FRAME_BYTES), streamId, code);
  }

  settingsAck(): void {
    const at = this.#at(FRAME_HEADER_BYTES);
    this.length = writeFrameHeader(this.buf, at, 0, FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0);
  }

  pingAck(opaque: Uint8Array, from: number): void {
    this.length = writePing(this.buf, this.#at(PING_FRAME_BYTES), true, opaque, from);
  }

  /** Appends GOAWAY if it fits (it is the last frame: when it does not, the close says enough). */
  goaway(lastStreamId: number, code: number, debug: Uint8Array): void {
    if (this.room < GOAWAY_FRAME_BYTES_MIN + debug.length) return;
    this.length = writeGoaway(this.buf, this.length, lastStreamId, code, debug);
  }

  /** Resolves once nothing is pending (or the output is closed). */
  drained(): Promise<void> {
    if (this.length === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Stops writing; pending bytes are dropped and drain waiters released. */
  close(): void {
    this.#closed = true;
    this.#releaseWaiters();
  }

  readonly #onWritten = (written: number): void => {
    // A write may take fewer bytes than given: the rest is written next, in order.
    this.buf.copyWithin(0, written, this.length);
    this.length -= written;
    this.writtenBytes += written;
    this.#inFlightBytes = 0;
    this.writeStartedAtMs = 0;
    if (this.#closed) return;
    this.#host.onWritable();
    if (this.length > 0) this.flush();
    else this.#releaseWaiters();
  };

  readonly #onFailed = (error: unknown): void => {
    this.#inFlightBytes = 0;
    this.writeStartedAtMs = 0;
    this.close();
    this.#host.onWriteError(error);
  };

  #releaseWaiters(): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
