/**
 * Strict, bounded HTTP/1.1 request-head parsing (RFC 9112 sections 2–6) over bytes in the
 * connection's read buffer, without a string per header: only the values the call path needs
 * (content-type, authorization, rpc-timeout-ms, host; origin, if-none-match, accept-encoding,
 * content-encoding and access-control-request-method for browsers and caches) become strings,
 * and framing headers (content-length, transfer-encoding, connection, expect) are read as bytes.
 *
 * Two passes: `findHeadEnd` scans new bytes for the empty line that ends the head (and refuses a
 * bare LF at once, so a client using LF line ends gets a 400 instead of waiting for a timeout),
 * then `parseHead` reads the complete head into a reused `RequestHead`.
 *
 * @module
 */

import { type ErrorCode, RpcError } from "../errors/rpc_error.ts";
import { CallHead, joinListField } from "../rpc/call_head.ts";
import { httpMethodCodeOf } from "../rpc/route.ts";

/** The RPC error code each refusal status is answered with (the body is the core's error). */
export const HEAD_ERROR_CODES = {
  400: "invalid_argument",
  413: "resource_exhausted",
  417: "failed_precondition",
  431: "resource_exhausted",
  501: "unimplemented",
  505: "unimplemented",
} as const satisfies Record<number, ErrorCode>;

/** Why a head was refused: the status to answer before closing the connection. */
export class HeadError extends Error {
  readonly status: keyof typeof HEAD_ERROR_CODES;

  constructor(status: keyof typeof HEAD_ERROR_CODES, message: string) {
    super(message);
    this.name = "HeadError";
    this.status = status;
  }

  /** The RpcError this refusal is answered with. */
  toRpcError(): RpcError {
    return new RpcError(HEAD_ERROR_CODES[this.status], `Bad request: ${this.message}`, {
      httpStatus: this.status,
      retryAfterSeconds: null,
    });
  }
}

/** The largest number of header lines a head may carry. */
export const HEADER_COUNT_MAX = 100;

/** The most empty lines skipped before a request line (RFC 9112 section 2.2: at least one). */
export const EMPTY_LINES_MAX = 4;

/** The longest method token accepted. */
export const METHOD_BYTES_MAX = 32;

/** The longest Content-Length value, in digits (beyond 2^53 a number is no longer exact). */
export const CONTENT_LENGTH_DIGITS_MAX = 15;

/** Request methods as codes: the call core's (rpc/route.ts), re-exported for the parser's users. */
export { HTTP_METHOD as METHOD_CODES } from "../rpc/route.ts";

/** tchar of RFC 9110 section 5.6.2: 1 for a token byte. */
const TCHAR = (() => {
  const table = new Uint8Array(256);
  const extra = "!#$%&'*+-.^_`|~";
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  for (let i = 0; i < extra.length; i++) table[extra.charCodeAt(i)] = 1;
  return table;
})();

/** field-vchar, SP, HTAB and obs-text: 1 for a byte allowed inside a header value. */
const VALUE_BYTE = (() => {
  const table = new Uint8Array(256);
  for (let c = 0x20; c <= 0x7e; c++) table[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) table[c] = 1;
  table[0x09] = 1;
  return table;
})();

/** The header names read by the parser, lower case, by an index used below. */
const KNOWN_NAMES = [
  "host",
  "expect",
  "connection",
  "content-type",
  "authorization",
  "content-length",
  "rpc-timeout-ms",
  "transfer-encoding",
  // Browsers and caches (docs/design.md, "Browsers and caches").
  "origin",
  "if-none-match",
  "accept-encoding",
  "content-encoding",
  "access-control-request-method",
] as const;
const KNOWN_BYTES = KNOWN_NAMES.map((n) => new TextEncoder().encode(n));
const NAME_HOST = 0;
const NAME_EXPECT = 1;
const NAME_CONNECTION = 2;
const NAME_CONTENT_TYPE = 3;
const NAME_AUTHORIZATION = 4;
const NAME_CONTENT_LENGTH = 5;
const NAME_RPC_TIMEOUT = 6;
const NAME_TRANSFER_ENCODING = 7;
const NAME_ORIGIN = 8;
const NAME_IF_NONE_MATCH = 9;
const NAME_ACCEPT_ENCODING = 10;
const NAME_CONTENT_ENCODING = 11;
const NAME_PREFLIGHT_METHOD = 12;
/** The shortest and longest known names (a cheap refusal of every other length). */
const KNOWN_NAME_BYTES_MIN = Math.min(...KNOWN_NAMES.map((n) => n.length));
const KNOWN_NAME_BYTES_MAX = Math.max(...KNOWN_NAMES.map((n) => n.length));

const CHUNKED = new TextEncoder().encode("chunked");
const CLOSE = new TextEncoder().encode("close");
const KEEP_ALIVE = new TextEncoder().encode("keep-alive");
const CONTINUE = new TextEncoder().encode("100-continue");

/** The longest value `ValueText` remembers. */
export const VALUE_TEXT_BYTES_MAX = 256;

/**
 * The string of a header value, remembered with its bytes: on a keep-alive connection the
 * same client sends the same Host, Content-Type and Authorization on every request, so
 * comparing a few bytes replaces making a string per request.
 */
export class ValueText {
  readonly #bytes = new Uint8Array(VALUE_TEXT_BYTES_MAX);
  #length = -1;
  #text = "";

  /** The value `buf[s, e)` as a string (latin1), reusing the last one when the bytes match. */
  of(buf: Uint8Array, s: number, e: number): string {
    const length = e - s;
    if (length === this.#length) {
      const bytes = this.#bytes;
      let i = 0;
      while (i < length && bytes[i] === buf[s + i]) i++;
      if (i === length) return this.#text;
    }
    const text = latin1(buf, s, e);
    if (length <= VALUE_TEXT_BYTES_MAX) {
      this.#bytes.set(buf.subarray(s, e));
      this.#length = length;
      this.#text = text;
    }
    return text;
  }
}

/**
 * One parsed request head, reused by a connection for each of its requests. Offsets index the
 * buffer the head was parsed from and stay valid until that buffer's bytes move. It is the call
 * core's `CallHead` too (the parser fills the fields a call needs), so serving a call costs no
 * extra object.
 */
export class RequestHead extends CallHead {
  methodStart = 0;
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;
  /** Index just after the empty line that ends the head. */
  headEnd = 0;
  headerCount = 0;
  /** Per header line: name start, name end, value start, value end. */
  readonly fields = new Int32Array(HEADER_COUNT_MAX * 4);
  host: string | null = null;
  /** The Content-Length value, or -1 when absent. */
  contentLength = -1;
  chunked = false;
  expectContinue = false;
  connectionClose = false;
  connectionKeepAlive = false;
  /** The last host, content-type, authorization, origin and accept-encoding (see ValueText). */
  readonly texts = [
    new ValueText(),
    new ValueText(),
    new ValueText(),
    new ValueText(),
    new ValueText(),
  ] as const;

  /** Clears the per-request fields. */
  reset(): void {
    this.resetCallFields();
    this.headerCount = 0;
    this.host = null;
    this.contentLength = -1;
    this.chunked = false;
    this.expectContinue = false;
    this.connectionClose = false;
    this.connectionKeepAlive = false;
  }

  /** Whether the connection stays open after this request (HTTP/1.1 default, 1.0 on request). */
  get keepAlive(): boolean {
    if (this.connectionClose) return false;
    return this.versionMinor === 1 || this.connectionKeepAlive;
  }
}

/**
 * The index of the first byte after up to EMPTY_LINES_MAX empty lines (CRLF) at `start`.
 *
 * @example
 * ```ts
 * skipEmptyLines(new TextEncoder().encode("\r\nGET"), 0, 5); // 2
 * ```
 */
export function skipEmptyLines(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  for (let n = 0; n < EMPTY_LINES_MAX && i + 1 < end && buf[i] === 13 && buf[i + 1] === 10; n++) {
    i += 2;
  }
  return i;
}

/**
 * Finds the end of a head that starts at `start`: the index after its CRLFCRLF, or -1 when the
 * bytes up to `end` hold no complete head yet. `scanFrom` (>= start) skips bytes already scanned.
 * Throws HeadError 400 on a bare LF.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * findHeadEnd(bytes, 0, { end: bytes.length }); // 27
 * ```
 */
export function findHeadEnd(
  buf: Uint8Array,
  start: number,
  options: { readonly end: number; readonly scanFrom?: number },
): number {
  const end = options.end;
  for (let i = Math.max(start, options.scanFrom ?? start); i < end; i++) {
    if (buf[i] !== 10) continue;
    if (i === start || buf[i - 1] !== 13) throw new HeadError(400, "bare LF in the request head");
    if (i - 3 >= start && buf[i - 2] === 10) return i + 1;
  }
  return -1;
}

/** Whether `buf[s, e)` equals `lower` ignoring ASCII case (`lower` is lower-case letters/-/0-9). */
function equalsLower(buf: Uint8Array, s: number, e: number, lower: Uint8Array): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = buf[s + i];
    if (c !== lower[i] && (c | 0x20) !== lower[i]) return false;
  }
  return true;
}

/** The index into KNOWN_NAMES of the header name `buf[s, e)`, or -1. */
function knownName(buf: Uint8Array, s: number, e: number): number {
  const length = e - s;
  if (length < KNOWN_NAME_BYTES_MIN || length > KNOWN_NAME_BYTES_MAX) return -1;
  for (let k = 0; k < KNOWN_BYTES.length; k++) {
    if (KNOWN_BYTES[k].length === length && equalsLower(buf, s, e, KNOWN_BYTES[k])) return k;
  }
  return -1;
}

/**
 * Bytes as a string, one char per byte (latin1): header values are ASCII or obs-text, and this
 * needs no decoder op for the few short values the call path reads.
 */
export function latin1(buf: Uint8Array, s: number, e: number): string {
  return String.fromCharCode.apply(null, buf.subarray(s, e) as unknown as number[]);
}

/** Reads the request line `buf[s, ...)` into `head`; returns the index after its CRLF. */
function parseRequestLine(buf: Uint8Array, s: number, head: RequestHead): number {
  let i = s;
  while (TCHAR[buf[i]] === 1) i++;
  if (i === s || i - s > METHOD_BYTES_MAX || buf[i] !== 0x20) {
    throw new HeadError(400, "bad method in the request line");
  }
  head.methodStart = s;
  head.methodEnd = i;
  head.methodCode = httpMethodCodeOf(buf, s, i);
  const t = ++i;
  while (buf[i] > 0x20 && buf[i] < 0x7f) i++;
  if (i === t || buf[t] !== 0x2f || buf[i] !== 0x20) {
    throw new HeadError(400, "bad request target (origin-form only)");
  }
  head.targetStart = t;
  head.targetEnd = i;
  i++;
  // "HTTP/1.1" or "HTTP/1.0", then CRLF.
  if (
    buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
    buf[i + 4] !== 0x2f || buf[i + 6] !== 0x2e || buf[i + 8] !== 13 || buf[i + 9] !== 10
  ) {
    throw new HeadError(400, "bad HTTP version in the request line");
  }
  const major = buf[i + 5] - 0x30;
  const minor = buf[i + 7] - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) {
    throw new HeadError(400, "bad HTTP version in the request line");
  }
  if (major !== 1 || minor > 1) throw new HeadError(505, "HTTP version not supported");
  head.versionMinor = minor;
  return i + 10;
}

/**
 * Parses the complete head `buf[start, headEnd)` (found by `findHeadEnd`) into `head`. Throws
 * HeadError with the status to answer: 400 for malformed lines, obs-fold, a missing or repeated
 * Host (HTTP/1.1), repeated Content-Length, Transfer-Encoding with Content-Length or in 1.0;
 * 431 for more than HEADER_COUNT_MAX lines; 501 for a transfer coding other than chunked; 417
 * for an expectation other than 100-continue; 505 for another HTTP version.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
 * const head = new RequestHead();
 * parseHead(bytes, 0, { headEnd: 27, head });
 * head.host; // "a"
 * ```
 */
export function parseHead(
  buf: Uint8Array,
  start: number,
  options: { readonly headEnd: number; readonly head: RequestHead },
): void {
  const head = options.head;
  const headEnd = options.headEnd;
  head.reset();
  head.headEnd = headEnd;
  let i = parseRequestLine(buf, start, head);
  let count = 0;
  let hostCount = 0;
  let transferCount = 0;
  // Each pass reads one header line; the head is bounded, so is the loop.
  while (i < headEnd) {
    if (buf[i] === 13) {
      // The empty line: findHeadEnd stopped at the first CRLFCRLF, so it must end the head.
      if (buf[i + 1] !== 10 || i + 2 !== headEnd) throw new HeadError(400, "bad empty line");
      break;
    }
    if (buf[i] === 0x20 || buf[i] === 0x09) throw new HeadError(400, "obs-fold in the head");
    const nameStart = i;
    while (TCHAR[buf[i]] === 1) i++;
    if (i === nameStart || buf[i] !== 0x3a) throw new HeadError(400, "bad header name");
    const nameEnd = i++;
    while (buf[i] === 0x20 || buf[i] === 0x09) i++;
    const valueStart = i;
    while (VALUE_BYTE[buf[i]] === 1) i++;
    if (buf[i] !== 13 || buf[i + 1] !== 10) throw new HeadError(400, "bad header value");
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 0x20 || buf[valueEnd - 1] === 0x09)) {
      valueEnd--;
    }
    i += 2;
    if (count === HEADER_COUNT_MAX) {
      throw new HeadError(431, `more than ${HEADER_COUNT_MAX} header lines`);
    }
    const f = count * 4;
    head.fields[f] = nameStart;
    head.fields[f + 1] = nameEnd;
    head.fields[f + 2] = valueStart;
    head.fields[f + 3] = valueEnd;
    count++;
    const known = knownName(buf, nameStart, nameEnd);
    if (known === -1) continue;
    if (known === NAME_HOST) hostCount++;
    if (known === NAME_TRANSFER_ENCODING) transferCount++;
    readKnown(buf, known, valueStart, valueEnd, head);
  }
  head.headerCount = count;
  checkFraming(head, hostCount, transferCount);
}

/** Stores one known header's value in `head`. */
function readKnown(buf: Uint8Array, known: number, s: number, e: number, head: RequestHead) {
  switch (known) {
    case NAME_HOST:
      head.host = head.texts[0].of(buf, s, e);
      break;
    case NAME_CONTENT_TYPE:
      head.contentType = head.texts[1].of(buf, s, e);
      head.contentTypeCount++;
      break;
    case NAME_AUTHORIZATION:
      // Counted, not joined: the core refuses a second Authorization on every transport.
      head.authorization = head.texts[2].of(buf, s, e);
      head.authorizationCount++;
      break;
    case NAME_RPC_TIMEOUT:
      head.rpcTimeoutMs = latin1(buf, s, e);
      head.rpcTimeoutMsCount++;
      break;
    case NAME_CONTENT_LENGTH:
      if (head.contentLength !== -1) throw new HeadError(400, "more than one Content-Length");
      head.contentLength = contentLengthOf(buf, s, e);
      break;
    case NAME_TRANSFER_ENCODING:
      if (!equalsLower(buf, s, e, CHUNKED)) {
        throw new HeadError(501, "transfer coding other than chunked");
      }
      head.chunked = true;
      break;
    case NAME_EXPECT:
      if (!equalsLower(buf, s, e, CONTINUE)) throw new HeadError(417, "unknown expectation");
      head.expectContinue = true;
      break;
    case NAME_CONNECTION:
      readConnection(buf, s, e, head);
      break;
    default:
      readWebField(buf, known, s, e, head);
  }
}

/** Stores one of the fields browsers and caches send (CORS, validators, content codings). */
function readWebField(buf: Uint8Array, known: number, s: number, e: number, head: RequestHead) {
  switch (known) {
    case NAME_ORIGIN:
      head.origin = head.texts[3].of(buf, s, e);
      head.originCount++;
      break;
    case NAME_IF_NONE_MATCH:
      head.ifNoneMatch = joinListField(head.ifNoneMatch, latin1(buf, s, e));
      break;
    case NAME_ACCEPT_ENCODING:
      head.acceptEncoding = joinListField(head.acceptEncoding, head.texts[4].of(buf, s, e));
      break;
    case NAME_CONTENT_ENCODING:
      head.contentEncoding = latin1(buf, s, e);
      head.contentEncodingCount++;
      break;
    case NAME_PREFLIGHT_METHOD:
      head.preflightMethod = latin1(buf, s, e);
      break;
  }
}

/** A Content-Length value: 1..15 decimal digits (a list, even of equal values, is refused). */
function contentLengthOf(buf: Uint8Array, s: number, e: number): number {
  if (e === s || e - s > CONTENT_LENGTH_DIGITS_MAX) throw new HeadError(400, "bad Content-Length");
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) throw new HeadError(400, "bad Content-Length");
    n = n * 10 + d;
  }
  return n;
}

/** Reads the `close` and `keep-alive` options of a Connection value (a token list). */
function readConnection(buf: Uint8Array, s: number, e: number, head: RequestHead): void {
  let i = s;
  while (i < e) {
    while (i < e && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x2c)) i++;
    const t = i;
    while (i < e && buf[i] !== 0x2c && buf[i] !== 0x20 && buf[i] !== 0x09) i++;
    if (equalsLower(buf, t, i, CLOSE)) head.connectionClose = true;
    else if (equalsLower(buf, t, i, KEEP_ALIVE)) head.connectionKeepAlive = true;
  }
}

/** The request-smuggling and Host checks once every line is read. */
function checkFraming(head: RequestHead, hostCount: number, transferCount: number): void {
  if (transferCount > 1) throw new HeadError(400, "more than one Transfer-Encoding");
  if (head.chunked && head.contentLength !== -1) {
    throw new HeadError(400, "both Transfer-Encoding and Content-Length");
  }
  if (head.chunked && head.versionMinor === 0) {
    throw new HeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (hostCount > 1) throw new HeadError(400, "more than one Host");
  if (hostCount === 0 && head.versionMinor === 1) throw new HeadError(400, "no Host");
}
