/**
 * One structured JSON line per RPC request, written in batches off the hot path (the model is
 * nginx's `access_log ... buffer=`). Built only when the log level lets requests through (`info`
 * or `debug`): with `warn` or `error` the app holds no log at all and dispatch skips the whole
 * step with one null check, so no object or string is made per request.
 *
 * A call pays for writing its line's bytes into the pending half of the buffer
 * (request_log_line.ts: no string, no object; the ISO timestamp is made once per millisecond).
 * The pending half is written to the sink (default: stdout) when the next line does not fit, when
 * {@link REQUEST_LOG_FLUSH_INTERVAL_MS} has passed since its first line, and on
 * `flush()`/`close()`. The two halves are one buffer allocated at construction; one is written
 * at a time while lines collect in the other. When both are full (the sink has not caught up), a
 * new line is dropped and counted (`request_log_dropped_total`): a call never waits for the sink
 * and the log never holds more than its budget.
 *
 * @module
 */

import type { LogLevel } from "../config/mod.ts";
import { LINE_NO_ROOM, type RequestLogEntry, writeRequestLine } from "./request_log_line.ts";

export { type RequestLogEntry, type Transport, TRANSPORTS } from "./request_log_line.ts";

/**
 * Where batches of lines go: `Deno.stdout`, a `Deno.FsFile`, a pipe's writer. Like Deno's
 * `Writer`: `write` may take fewer bytes than given (the rest is offered again) and must be done
 * with `bytes` when its promise settles (the buffer is reused).
 */
export interface RequestLogSink {
  write(bytes: Uint8Array): Promise<number>;
}

/** The log's whole byte budget: half collects new lines, half is being written. */
export const REQUEST_LOG_BUFFER_BYTES = 64 * 1024;
/** The longest a line waits in the pending half before a write starts. */
export const REQUEST_LOG_FLUSH_INTERVAL_MS = 5;
/** Accepted range of the buffer budget (a line must fit a half; the upper bound caps memory). */
const BUFFER_BYTES_MIN = 1024;
const BUFFER_BYTES_MAX = 64 * 1024 * 1024;
/** Accepted range of the flush interval. */
const FLUSH_INTERVAL_MS_MAX = 10_000;
/** Writes `flush()` waits for before it gives up on lines that keep arriving. */
const FLUSH_ROUNDS_MAX = 64;
const NEWLINE = 0x0a;

/** Options of {@link RequestLog}. */
export interface RequestLogOptions {
  /** Default `Deno.stdout`. */
  readonly sink?: RequestLogSink;
  /** The byte budget; default {@link REQUEST_LOG_BUFFER_BYTES}. */
  readonly bufferBytes?: number;
  /** Default {@link REQUEST_LOG_FLUSH_INTERVAL_MS}. */
  readonly flushIntervalMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Builds and buffers request lines; writes them to its sink in batches. */
export class RequestLog {
  readonly #sink: RequestLogSink;
  /** The unbuffered form's callback, else null. */
  readonly #each: ((line: string) => void) | null;
  readonly #halfBytes: number;
  readonly #flushIntervalMs: number;
  /** The two halves of the budget, allocated once: lines collect in one, the other is written. */
  readonly #halves: readonly [Uint8Array, Uint8Array];
  /** Which half collects lines. */
  #fill = 0;
  /** Bytes of whole lines in the collecting half. */
  #pendingBytes = 0;
  #inFlightBytes = 0;
  #writing: Promise<void> | null = null;
  /** Set when the pending lines should be written as soon as the current write ends. */
  #due = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #dropped = 0;
  #sinkFailed = false;
  #tsMs = Number.NaN;
  /** The ISO timestamp of #tsMs, as bytes (always 24 ASCII characters within years 0–9999). */
  #ts: Uint8Array = new Uint8Array(0);

  /**
   * @example
   * ```ts
   * const log = new RequestLog(); // stdout, 64 KiB, flushed every 5 ms
   * log.record(entry);
   * await log.close(); // at shutdown: every buffered line written
   * ```
   *
   * The former form, `new RequestLog((line) => lines.push(line))`, still works: the function gets
   * each line (without its newline) as it is recorded, with no timer or sink; tests that read the
   * lines of a call right after it use it.
   */
  constructor(options: RequestLogOptions | ((line: string) => void) = {}) {
    this.#each = typeof options === "function" ? options : null;
    const given: RequestLogOptions = typeof options === "function" ? {} : options;
    const bufferBytes = given.bufferBytes ?? REQUEST_LOG_BUFFER_BYTES;
    if (!Number.isInteger(bufferBytes) || bufferBytes < BUFFER_BYTES_MIN) {
      throw new RangeError(
        `Cannot log requests: buffer ${bufferBytes} bytes below ${BUFFER_BYTES_MIN}`,
      );
    }
    if (bufferBytes > BUFFER_BYTES_MAX) {
      throw new RangeError(
        `Cannot log requests: buffer ${bufferBytes} bytes exceeds ${BUFFER_BYTES_MAX}`,
      );
    }
    const intervalMs = given.flushIntervalMs ?? REQUEST_LOG_FLUSH_INTERVAL_MS;
    if (!(intervalMs >= 0 && intervalMs <= FLUSH_INTERVAL_MS_MAX)) {
      throw new RangeError(
        `Cannot log requests: flush interval ${intervalMs} ms outside 0..${FLUSH_INTERVAL_MS_MAX}`,
      );
    }
    this.#sink = given.sink ?? Deno.stdout;
    this.#halfBytes = Math.floor(bufferBytes / 2);
    this.#flushIntervalMs = intervalMs;
    const budget = new ArrayBuffer(this.#halfBytes * 2);
    this.#halves = [
      new Uint8Array(budget, 0, this.#halfBytes),
      new Uint8Array(budget, this.#halfBytes, this.#halfBytes),
    ];
  }

  /** Lines dropped because the sink had not caught up (or failed, or the log was closed). */
  get droppedLineCount(): number {
    return this.#dropped;
  }

  /** Bytes held: lines pending plus the batch being written; never above the budget. */
  get bufferedBytes(): number {
    return this.#pendingBytes + this.#inFlightBytes;
  }

  /** Buffers one line: `{"ts":...,"level":"info","msg":"rpc",...entry}`. Never waits. */
  record(entry: RequestLogEntry): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    const ts = this.#isoNow();
    if (this.#each !== null) {
      // Unbuffered: the line is made in the collecting half and handed over as text at once.
      const end = writeRequestLine(this.#halves[0], 0, this.#halfBytes, ts, entry);
      if (end === LINE_NO_ROOM) this.#dropped++;
      else this.#each(decoder.decode(this.#halves[0].subarray(0, end - 1)));
      return;
    }
    let end = this.#writeLine(ts, entry);
    if (end === LINE_NO_ROOM) {
      if (this.#pendingBytes === 0) {
        this.#dropped++; // longer than a whole half: it can never be written
        return;
      }
      if (this.#writing !== null) {
        this.#dropped++;
        this.#due = true;
        return;
      }
      this.#startWrite();
      end = this.#writeLine(ts, entry);
      if (end === LINE_NO_ROOM) {
        this.#dropped++;
        return;
      }
    }
    this.#pendingBytes = end;
    if (this.#timer === null && !this.#due) this.#armTimer();
  }

  /** The line at the end of the collecting half; LINE_NO_ROOM when it does not fit there. */
  #writeLine(ts: Uint8Array, entry: RequestLogEntry): number {
    const half = this.#halves[this.#fill];
    return writeRequestLine(half, this.#pendingBytes, this.#halfBytes, ts, entry);
  }

  /** Writes every buffered line; resolves when the sink has taken them. */
  async flush(): Promise<void> {
    // Bounded: lines recorded meanwhile are written too, up to FLUSH_ROUNDS_MAX batches.
    for (let round = 0; round < FLUSH_ROUNDS_MAX; round++) {
      if (this.#writing !== null) {
        await this.#writing;
      } else if (this.#pendingBytes > 0) {
        this.#startWrite();
      } else {
        return;
      }
    }
  }

  /** Flushes and stops the timer; lines recorded afterwards are dropped and counted. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** The ISO timestamp's bytes, made once per millisecond. */
  #isoNow(): Uint8Array {
    const nowMs = Date.now();
    if (nowMs !== this.#tsMs) {
      this.#tsMs = nowMs;
      this.#ts = encoder.encode(new Date(nowMs).toISOString());
    }
    return this.#ts;
  }

  /** One timer per pending batch, unref'd: it never keeps the process alive. */
  #armTimer(): void {
    const timer = setTimeout(() => {
      this.#timer = null;
      if (this.#writing !== null) this.#due = true;
      else this.#startWrite();
    }, this.#flushIntervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Hands the collecting half to the sink; lines collect in the other half meanwhile. */
  #startWrite(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#due = false;
    if (this.#pendingBytes === 0) return;
    const batch = this.#halves[this.#fill];
    const length = this.#pendingBytes;
    this.#fill = 1 - this.#fill;
    this.#pendingBytes = 0;
    this.#inFlightBytes = length;
    this.#writing = this.#writeOut(batch, length).then(() => {
      this.#writing = null;
      this.#inFlightBytes = 0;
      // Lines that waited behind this write: the next batch starts now if they are overdue
      // (their timer fired, or a line was dropped for want of room), else their timer runs.
      if (this.#due || this.#closed) this.#startWrite();
    });
  }

  /** Writes `batch[0, length)` fully, counting the lines the sink did not take as dropped. */
  async #writeOut(batch: Uint8Array, length: number): Promise<void> {
    let at = 0;
    try {
      // Bounded by `length`: every pass moves at least one byte (a zero-byte write ends it).
      while (at < length) {
        const n = await this.#sink.write(batch.subarray(at, length));
        if (!(n > 0)) break;
        at += Math.min(n, length - at);
      }
    } catch (error) {
      this.#reportSinkFailure(error);
    }
    // A line cut short counts as dropped: its newline is in the part not written.
    for (let i = at; i < length; i++) if (batch[i] === NEWLINE) this.#dropped++;
  }

  /** Says once on stderr that the sink failed; later failures only count. */
  #reportSinkFailure(error: unknown): void {
    if (this.#sinkFailed) return;
    this.#sinkFailed = true;
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    try {
      console.error(`request log: cannot write (${reason}); lines are dropped and counted`);
    } catch {
      // stderr is gone too: the counter in /metrics still tells.
    }
  }
}

/**
 * The request log for a log level: a log for `debug`/`info`, null (requests not logged) for
 * `warn`/`error`.
 *
 * @example
 * ```ts
 * const log = requestLogFor(config.logLevel); // null when --log-level warn
 * ```
 */
export function requestLogFor(
  level: LogLevel,
  options?: RequestLogOptions,
): RequestLog | null {
  return level === "debug" || level === "info" ? new RequestLog(options) : null;
}
