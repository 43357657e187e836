/**
 * One structured JSON line per RPC request on stdout. Built only when the log level lets
 * requests through (`info` or `debug`): with `warn` or `error` the app holds no log at all and
 * dispatch skips the whole step with one null check, so no object or string is made per request.
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

/** Writes request lines. */
export class RequestLog {
  readonly #write: (line: string) => void;

  /**
   * @example
   * ```ts
   * const lines: string[] = [];
   * new RequestLog((line) => lines.push(line)).record(entry);
   * ```
   */
  constructor(write: (line: string) => void = (line) => console.log(line)) {
    this.#write = write;
  }

  /** Writes one line: `{"ts":...,"level":"info","msg":"rpc",...entry}`. */
  record(entry: RequestLogEntry): void {
    this.#write(JSON.stringify({
      ts: new Date().toISOString(),
      level: "info",
      msg: "rpc",
      method: entry.method,
      code: entry.code,
      httpStatus: entry.httpStatus,
      durationMs: Math.round(entry.durationMs * 1000) / 1000,
      bytesIn: entry.bytesIn,
      bytesOut: entry.bytesOut,
      leasesHeld: entry.leasesHeld,
      transport: entry.transport,
    }));
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
  write?: (line: string) => void,
): RequestLog | null {
  return level === "debug" || level === "info" ? new RequestLog(write) : null;
}
