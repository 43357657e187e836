/**
 * Response heads as bytes: the status line, the few headers of an RPC answer, the Date header
 * (formatted once per second), and the head of any `Response` the Hono app returns. The RPC
 * answer's head is assembled from bytes prepared once per server (status lines, content types,
 * the listener's extra headers such as Alt-Svc), so answering costs no string per request.
 *
 * @module
 */

import { answerHasContent, type CallAnswer, type HeaderPairs } from "../rpc/answer.ts";

/** Reason phrases for the statuses this server sends (others get "Status"). */
export const REASON_PHRASES: Readonly<Record<number, string>> = Object.freeze({
  100: "Continue",
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
});

/** How the answer speaks of the connection: close it, keep it (HTTP/1.0), or say nothing. */
export type ConnectionHeader = "close" | "keep-alive" | null;

/** The options of `encodeCallHead` and `encodeHead`. */
export interface HeadOptions {
  readonly connection: ConnectionHeader;
}

/** Prepared options, so the hot path passes a constant instead of making an object. */
export const HEAD_CLOSE: HeadOptions = Object.freeze({ connection: "close" });
export const HEAD_KEEP_ALIVE: HeadOptions = Object.freeze({ connection: "keep-alive" });
export const HEAD_PLAIN: HeadOptions = Object.freeze({ connection: null });

/** What an RPC answer's head needs (a `CallAnswer` satisfies it). */
export interface AnswerHeadLike {
  readonly status: number;
  readonly contentType: string;
  readonly fields: HeaderPairs;
  readonly body: Uint8Array;
}

/** `text` as bytes, one per char (header text is ASCII or latin1 ByteString). */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** Writes the decimal digits of `n` (a non-negative safe integer) at `pos`; returns the end. */
function writeDecimal(out: Uint8Array, pos: number, n: number): number {
  if (n < 10) {
    out[pos] = 0x30 + n;
    return pos + 1;
  }
  let digits = 0;
  for (let m = n; m > 0; m = Math.floor(m / 10)) digits++;
  let p = pos + digits;
  for (let m = n; m > 0; m = Math.floor(m / 10)) out[--p] = 0x30 + (m % 10);
  return pos + digits;
}

const CRLF = latin1Bytes("\r\n");
const CONTENT_LENGTH = latin1Bytes("content-length: ");
const CONNECTION_CLOSE = latin1Bytes("connection: close\r\n");
const CONNECTION_KEEP_ALIVE = latin1Bytes("connection: keep-alive\r\n");

/**
 * Encodes response heads for one server. Holds the prepared bytes and the Date line; the server
 * calls `tick` (about once a second) to refresh the date.
 *
 * @example
 * ```ts
 * const encoder = new ResponseEncoder([["alt-svc", 'h3=":8443"']]);
 * const out = new Uint8Array(4096);
 * const n = encoder.encodeCallHead(out, answer, HEAD_PLAIN);
 * ```
 */
export class ResponseEncoder {
  readonly #extra: Uint8Array;
  readonly #statusLines = new Map<number, Uint8Array>();
  readonly #contentTypes = new Map<string, Uint8Array>();
  /** Encoded answer fields per (shared, frozen) fields array. */
  readonly #fields = new WeakMap<HeaderPairs, Uint8Array>();
  readonly #now: () => number;
  #date: Uint8Array = new Uint8Array(0);
  #dateSecond = -1;

  /**
   * `extraHeaders` go on every answer (lower-case names, validated by the service); `now` is
   * the service clock's coarse time (the Date line is refreshed when its second changes).
   */
  constructor(extraHeaders: HeaderPairs, now: () => number = Date.now) {
    this.#extra = latin1Bytes(extraHeaders.map(([n, v]) => `${n}: ${v}\r\n`).join(""));
    this.#now = now;
  }

  /** The Date line of the current second. */
  #dateLine(): Uint8Array {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#dateSecond) {
      this.#dateSecond = second;
      this.#date = latin1Bytes(`date: ${new Date(second * 1000).toUTCString()}\r\n`);
    }
    return this.#date;
  }

  #fieldLines(fields: HeaderPairs): Uint8Array {
    let lines = this.#fields.get(fields);
    if (lines === undefined) {
      lines = latin1Bytes(fields.map(([n, v]) => `${n}: ${v}\r\n`).join(""));
      this.#fields.set(fields, lines);
    }
    return lines;
  }

  /** The status line of `status`, e.g. `HTTP/1.1 200 OK\r\n`. */
  statusLine(status: number): Uint8Array {
    let line = this.#statusLines.get(status);
    if (line === undefined) {
      if (!Number.isInteger(status) || status < 100 || status > 999) {
        throw new RangeError(`Cannot encode head: status ${status} is not 100..999`);
      }
      line = latin1Bytes(`HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? "Status"}\r\n`);
      // Bounded: statuses are three digits.
      this.#statusLines.set(status, line);
    }
    return line;
  }

  #contentTypeLine(contentType: string): Uint8Array {
    let line = this.#contentTypes.get(contentType);
    if (line === undefined) {
      line = latin1Bytes(`content-type: ${contentType}\r\n`);
      // The call core answers with a handful of media types; bound the cache anyway.
      if (this.#contentTypes.size < 16) this.#contentTypes.set(contentType, line);
    }
    return line;
  }

  /** The bytes an answer's head takes at most (to size an output buffer). */
  callHeadBytesMax(answer: AnswerHeadLike): number {
    return 256 + answer.contentType.length + this.#fieldLines(answer.fields).length +
      this.#extra.length;
  }

  /**
   * Writes an RPC answer's head into `out` (status line, content-type, content-length, the
   * answer's fields, the extra headers, date, connection) and returns its length; a 204 or 304
   * has neither content-type nor content-length. `out` must hold `callHeadBytesMax(answer)`
   * bytes.
   */
  encodeCallHead(out: Uint8Array, answer: AnswerHeadLike, options: HeadOptions): number {
    let p = put(out, 0, this.statusLine(answer.status));
    if (answer.contentType !== "") p = put(out, p, this.#contentTypeLine(answer.contentType));
    if (answerHasContent(answer.status)) {
      p = put(out, p, CONTENT_LENGTH);
      p = writeDecimal(out, p, answer.body.length);
      p = put(out, p, CRLF);
    }
    if (answer.fields.length > 0) p = put(out, p, this.#fieldLines(answer.fields));
    p = put(out, p, this.#extra);
    return this.#finish(out, p, options);
  }

  /** Date, connection and the empty line. */
  #finish(out: Uint8Array, pos: number, options: HeadOptions): number {
    let p = put(out, pos, this.#dateLine());
    if (options.connection === "close") p = put(out, p, CONNECTION_CLOSE);
    else if (options.connection === "keep-alive") p = put(out, p, CONNECTION_KEEP_ALIVE);
    return put(out, p, CRLF);
  }

  /**
   * A whole head as new bytes: the status line, `headers` (name/value pairs, written as given),
   * date and connection. For the app's answers and the server's own error answers.
   */
  encodeHead(
    status: number,
    headers: readonly (readonly [string, string])[],
    options: HeadOptions,
  ): Uint8Array {
    let text = "";
    for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
    const line = this.statusLine(status);
    const fields = latin1Bytes(text);
    const out = new Uint8Array(line.length + fields.length + this.#dateLine().length + 64);
    let p = put(out, 0, line);
    p = put(out, p, fields);
    return out.subarray(0, this.#finish(out, p, options));
  }

  /**
   * A whole answer (head and body) as new bytes, for refusals written outside the call path (a
   * bad head, a timeout, a draining server); the answer is released.
   */
  wholeAnswer(answer: CallAnswer, options: HeadOptions): Uint8Array {
    try {
      const out = new Uint8Array(this.callHeadBytesMax(answer) + answer.body.length);
      const n = this.encodeCallHead(out, answer, options);
      out.set(answer.body, n);
      return out.subarray(0, n + answer.body.length);
    } finally {
      answer.release();
    }
  }
}

/** Copies `bytes` into `out` at `pos`; returns the end. */
function put(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  out.set(bytes, pos);
  return pos + bytes.length;
}
