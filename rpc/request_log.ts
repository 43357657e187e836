/**
 * One structured JSON line per RPC request, written in batches off the hot path (the model is
 * nginx's `access_log ... buffer=`). Built only when the log level lets requests through (`info`
 * or `debug`): with `warn` or `error` the app holds no log at all and dispatch skips the whole
 * step with one null check, so no object or string is made per request.
 *
 * A call pays for concatenating its line's known fields (no object, no `JSON.stringify` unless a
 * string field needs escaping; the ISO timestamp is made once per millisecond) and appending it to
 * the pending text. The pending text is written to the sink (default: stdout) when it reaches half
 * the byte budget, when {@link REQUEST_LOG_FLUSH_INTERVAL_MS} has passed since its first line, and
 * on `flush()`/`close()`. One write is in flight at a time, from one buffer allocated at
 * construction; meanwhile lines keep collecting in the pending half. When both halves are full
 * (the sink has not caught up), a new line is dropped and counted (`request_log_dropped_total`):
 * a call never waits for the sink and the log never holds more than its budget.
 *
 * @module
 */

import type { LogLevel } from "../config/mod.ts";

/**
 * How a request arrived: HTTP/1.1 in the clear (`h1`) or over TLS (`h1-tls`), HTTP/2 over TLS
 * (`h2`) or in the clear by prior knowledge (`h2c`), HTTP/3 (`h3`).
 */
export const TRANSPORTS = ["h1", "h1-tls", "h2", "h2c", "h3"] as const;

/** A transport label. */
export type Transport = typeof TRANSPORTS[number];

/** The fields of one request line. */
export interface RequestLogEntry {
  /** The method name, `"batch"` for `POST /rpc`. */
  readonly method: string;
  /** `ok` or the RPC error code. */
  readonly code: string;
  readonly httpStatus: number;
  readonly durationMs: number;
  /** Request body bytes read (0 when rejected before reading). */
  readonly bytesIn: number;
  /** Response body bytes. */
  readonly bytesOut: number;
  /** Pool blocks leased process-wide when the response was ready. */
  readonly leasesHeld: number;
  readonly transport: Transport;
}

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
/** Strings JSON.stringify leaves as they are: printable ASCII other than `"` and `\`. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `n` as JSON.stringify writes a number (null for NaN and infinities). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? "" + n : "null";
}

/** UTF-8 bytes of a well-formed string (JSON.stringify escapes lone surrogates). */
function utf8Bytes(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++;
    } else if (c >= 0x800) bytes += 2;
    else if (c >= 0x80) bytes += 1;
  }
  return bytes;
}

/** Builds and buffers request lines; writes them to its sink in batches. */
export class RequestLog {
  readonly #sink: RequestLogSink;
  /** The unbuffered form's callback, else null. */
  readonly #each: ((line: string) => void) | null;
  readonly #halfBytes: number;
  readonly #flushIntervalMs: number;
  /** The buffer being written; allocated once. */
  readonly #out: Uint8Array;
  /** Lines not yet handed to the sink, as one string, with their UTF-8 size and count. */
  #pending = "";
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
  #ts = "";

  /**
   * @example
   * ```ts
   * const log = new RequestLog(); // stdout, 64 KiB, flushed every 5 ms
   * log.record(entry);
   * await log.close(); // at shutdown: every buffered line written
   * ```
   *
   * The former form, `new RequestLog((line) => lines.push(line))`, still works: the function gets
   * each line (without its newline) as it is recorded, with no buffer, timer or sink; tests that
   * read the lines of a call right after it use it.
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
    this.#out = new Uint8Array(this.#each === null ? this.#halfBytes : 0);
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
    const { method, code, transport } = entry;
    // Registered method names, codes and transports never need escaping: the line is ASCII, its
    // length is its size. Anything else goes through JSON.stringify, as before.
    if (JSON_PLAIN.test(method) && JSON_PLAIN.test(code) && JSON_PLAIN.test(transport)) {
      const line = this.#line('"' + method + '"', '"' + code + '"', '"' + transport + '"', entry);
      this.#append(line, line.length);
    } else {
      const line = this.#line(
        JSON.stringify(method),
        JSON.stringify(code),
        JSON.stringify(transport),
        entry,
      );
      this.#append(line, utf8Bytes(line));
    }
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

  /** The line, keys in the order JSON.stringify of the former object wrote them. */
  #line(method: string, code: string, transport: string, entry: RequestLogEntry): string {
    return '{"ts":"' + this.#isoNow() + '","level":"info","msg":"rpc","method":' + method +
      ',"code":' + code + ',"httpStatus":' + jsonNumber(entry.httpStatus) +
      ',"durationMs":' + jsonNumber(Math.round(entry.durationMs * 1000) / 1000) +
      ',"bytesIn":' + jsonNumber(entry.bytesIn) + ',"bytesOut":' + jsonNumber(entry.bytesOut) +
      ',"leasesHeld":' + jsonNumber(entry.leasesHeld) + ',"transport":' + transport + "}\n";
  }

  /** The ISO timestamp, made once per millisecond. */
  #isoNow(): string {
    const nowMs = Date.now();
    if (nowMs !== this.#tsMs) {
      this.#tsMs = nowMs;
      this.#ts = new Date(nowMs).toISOString();
    }
    return this.#ts;
  }

  /** Adds a line to the pending half, starting a write when it is full; drops it when the
   * in-flight half is still being written too. */
  #append(line: string, bytes: number): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    if (this.#each !== null) {
      this.#each(line.slice(0, -1));
      return;
    }
    if (bytes > this.#halfBytes) {
      this.#dropped++;
      return;
    }
    if (this.#pendingBytes + bytes > this.#halfBytes) {
      if (this.#writing !== null) {
        this.#dropped++;
        this.#due = true;
        return;
      }
      this.#startWrite();
    }
    this.#pending += line;
    this.#pendingBytes += bytes;
    if (this.#timer === null && !this.#due) this.#armTimer();
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

  /** Moves the pending lines into the write buffer and hands them to the sink. */
  #startWrite(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#due = false;
    if (this.#pendingBytes === 0) return;
    // Fits: pending never exceeds a half, and #out is a half.
    const { written } = encoder.encodeInto(this.#pending, this.#out);
    this.#pending = "";
    this.#pendingBytes = 0;
    this.#inFlightBytes = written;
    this.#writing = this.#writeOut(written).then(() => {
      this.#writing = null;
      this.#inFlightBytes = 0;
      // Lines that waited behind this write: the next batch starts now if they are overdue
      // (their timer fired, or a line was dropped for want of room), else their timer runs.
      if (this.#due || this.#closed) this.#startWrite();
    });
  }

  /** Writes `#out[0, length)` fully, counting the lines the sink did not take as dropped. */
  async #writeOut(length: number): Promise<void> {
    let at = 0;
    try {
      // Bounded by `length`: every pass moves at least one byte (a zero-byte write ends it).
      while (at < length) {
        const n = await this.#sink.write(this.#out.subarray(at, length));
        if (!(n > 0)) break;
        at += Math.min(n, length - at);
      }
    } catch (error) {
      this.#reportSinkFailure(error);
    }
    // A line cut short counts as dropped: its newline is in the part not written.
    for (let i = at; i < length; i++) if (this.#out[i] === NEWLINE) this.#dropped++;
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
