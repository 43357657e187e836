/**
 * One request-log line written straight into bytes: `{"ts":...,"level":"info","msg":"rpc",...}`
 * and a newline, byte for byte what `JSON.stringify` of the former object wrote. The log's
 * buffer is the destination, so a line makes no string, no number-to-string conversion and no
 * object on the JS heap: at tens of thousands of calls a second those were most of the log's
 * cost (each one young-generation garbage).
 *
 * A field that JSON would escape (a quote, a backslash, a control character or anything not
 * ASCII) takes the slow path: `JSON.stringify` and `TextEncoder.encodeInto`, as before.
 *
 * @module
 */

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

/** Returned when the line does not fit before `end`. */
export const LINE_NO_ROOM = -1;

const encoder = new TextEncoder();
const ascii = (text: string): Uint8Array => encoder.encode(text);

/** The constant parts, in line order. */
const PART = {
  ts: ascii('{"ts":"'),
  method: ascii('","level":"info","msg":"rpc","method":'),
  code: ascii(',"code":'),
  httpStatus: ascii(',"httpStatus":'),
  durationMs: ascii(',"durationMs":'),
  bytesIn: ascii(',"bytesIn":'),
  bytesOut: ascii(',"bytesOut":'),
  leasesHeld: ascii(',"leasesHeld":'),
  transport: ascii(',"transport":'),
  end: ascii("}\n"),
} as const;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DIGIT_0 = 0x30;
const DOT = 0x2e;
/** Integers below this are written digit by digit (exact in a double, no exponent form). */
const INTEGER_FAST_MAX = 2 ** 53;
/** Durations below this many microseconds are written digit by digit (≤ 15 significant). */
const MICROS_FAST_MAX = 1e15;

/**
 * Writes the line for `entry` at `out[at..]` and returns where it ends, or
 * {@link LINE_NO_ROOM} when it does not fit before `end` (nothing past `at` is meaningful then).
 * `ts` is the ISO timestamp's bytes.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(512);
 * const end = writeRequestLine(out, 0, out.length, ts, entry);
 * new TextDecoder().decode(out.subarray(0, end)); // '{"ts":"2026-…","level":"info",…}\n'
 * ```
 */
export function writeRequestLine(
  out: Uint8Array,
  at: number,
  end: number,
  ts: Uint8Array,
  entry: RequestLogEntry,
): number {
  let p = bytes(out, at, end, PART.ts);
  p = bytes(out, p, end, ts);
  p = bytes(out, p, end, PART.method);
  p = jsonString(out, p, end, entry.method);
  p = bytes(out, p, end, PART.code);
  p = jsonString(out, p, end, entry.code);
  p = bytes(out, p, end, PART.httpStatus);
  p = jsonInteger(out, p, end, entry.httpStatus);
  p = bytes(out, p, end, PART.durationMs);
  p = jsonMillis(out, p, end, entry.durationMs);
  p = bytes(out, p, end, PART.bytesIn);
  p = jsonInteger(out, p, end, entry.bytesIn);
  p = bytes(out, p, end, PART.bytesOut);
  p = jsonInteger(out, p, end, entry.bytesOut);
  p = bytes(out, p, end, PART.leasesHeld);
  p = jsonInteger(out, p, end, entry.leasesHeld);
  p = bytes(out, p, end, PART.transport);
  p = jsonString(out, p, end, entry.transport);
  return bytes(out, p, end, PART.end);
}

/** Copies `part`; a byte loop, since `set()` costs more than these few bytes. */
function bytes(out: Uint8Array, at: number, end: number, part: Uint8Array): number {
  if (at === LINE_NO_ROOM || at + part.length > end) return LINE_NO_ROOM;
  for (let i = 0; i < part.length; i++) out[at + i] = part[i];
  return at + part.length;
}

/** `text` as a JSON string: copied when JSON leaves every unit as it is, else stringified. */
function jsonString(out: Uint8Array, at: number, end: number, text: string): number {
  if (at === LINE_NO_ROOM || at + text.length + 2 > end) return slowString(out, at, end, text);
  out[at] = QUOTE;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
      return slowString(out, at, end, text);
    }
    out[at + 1 + i] = c;
  }
  out[at + 1 + text.length] = QUOTE;
  return at + text.length + 2;
}

function slowString(out: Uint8Array, at: number, end: number, text: string): number {
  if (at === LINE_NO_ROOM) return LINE_NO_ROOM;
  const json = JSON.stringify(text);
  const { read, written } = encoder.encodeInto(json, out.subarray(at, end));
  return read === json.length ? at + written : LINE_NO_ROOM;
}

/** A number as JSON.stringify writes it; non-negative safe integers digit by digit. */
function jsonInteger(out: Uint8Array, at: number, end: number, n: number): number {
  if (at === LINE_NO_ROOM) return LINE_NO_ROOM;
  if (!(Number.isInteger(n) && n >= 0 && n < INTEGER_FAST_MAX)) return slowNumber(out, at, end, n);
  return digits(out, at, end, n);
}

/** `ms` rounded to microseconds, as JSON.stringify(Math.round(ms * 1000) / 1000) writes it. */
function jsonMillis(out: Uint8Array, at: number, end: number, ms: number): number {
  if (at === LINE_NO_ROOM) return LINE_NO_ROOM;
  const micros = Math.round(ms * 1000);
  // Below 1e15 microseconds the decimal int.fff has at most 15 significant digits, so it is
  // exactly the shortest form of the rounded double: trailing zeros trimmed, no exponent.
  if (!(micros >= 0 && micros < MICROS_FAST_MAX)) return slowNumber(out, at, end, micros / 1000);
  const whole = Math.floor(micros / 1000);
  let fraction = micros - whole * 1000;
  let p = digits(out, at, end, whole);
  if (fraction === 0 || p === LINE_NO_ROOM) return p;
  if (p + 4 > end) return LINE_NO_ROOM;
  out[p++] = DOT;
  // Up to three fraction digits, trailing zeros left off.
  for (let place = 100; place >= 1 && fraction > 0; place /= 10) {
    const digit = Math.floor(fraction / place);
    out[p++] = DIGIT_0 + digit;
    fraction -= digit * place;
  }
  return p;
}

/** The decimal digits of a non-negative safe integer. */
function digits(out: Uint8Array, at: number, end: number, n: number): number {
  let count = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) count++;
  if (at + count > end) return LINE_NO_ROOM;
  let rest = n;
  // Bounded by count (≤ 16 digits below 2^53).
  for (let i = at + count - 1; i >= at; i--) {
    const next = Math.floor(rest / 10);
    out[i] = DIGIT_0 + (rest - next * 10);
    rest = next;
  }
  return at + count;
}

/** Any other number: JSON.stringify's form (null for NaN and the infinities). */
function slowNumber(out: Uint8Array, at: number, end: number, n: number): number {
  const text = Number.isFinite(n) ? "" + n : "null";
  if (at + text.length > end) return LINE_NO_ROOM;
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}
