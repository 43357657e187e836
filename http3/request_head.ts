/**
 * The head of an HTTP/3 request (RFC 9114 §4.3.1): validates the decoded field lines of a
 * request's HEADERS frame and turns them into method, URL and header pairs; and the reverse for a
 * response's head.
 *
 * A malformed request (missing or repeated pseudo-headers, a pseudo-header after a regular one,
 * uppercase names, connection-specific fields, `te` other than "trailers") throws an H3Error
 * H3_MESSAGE_ERROR with stream scope (RFC 9114 §4.1.2): only that request fails.
 *
 * @module
 */

import { H3Error } from "./errors.ts";
import type { FieldLine } from "./qpack_static.ts";

/** The parts of a request that HEADERS carries. */
export interface RequestHead {
  readonly method: string;
  /** `https://authority/path?query`, ready for `new Request`. */
  readonly url: string;
  /** The `:path` as sent (origin-form, query included; `/` for `*`). */
  readonly path: string;
  /**
   * The regular fields as `[name, value]` pairs for `new Request` (a `Headers` object here would
   * be built twice: the Request copies its init, and iterating a Headers sorts it).
   */
  readonly headers: [string, string][];
  /** Content-Length when the client declared one, else null. */
  readonly contentLengthBytes: number | null;
}

/** Fields HTTP/3 forbids because they are specific to a connection (RFC 9114 §4.2). */
export const CONNECTION_SPECIFIC_FIELDS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

const REQUEST_PSEUDO_HEADERS: ReadonlySet<string> = new Set([
  ":method",
  ":scheme",
  ":authority",
  ":path",
  ":protocol",
]);

/** Visible ASCII only: no spaces, controls or non-ASCII in :authority and :path. */
const URL_PART_PATTERN = /^[\x21-\x7e]+$/;

/** Characters no field value may hold (RFC 9110 §5.5; `Headers` refuses them too). */
const FIELD_VALUE_FORBIDDEN_PATTERN = /[\0\r\n]/;

/** Printable token characters (RFC 9110 §5.6.2) minus uppercase letters. */
const FIELD_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function malformed(message: string): H3Error {
  return new H3Error("H3_MESSAGE_ERROR", `malformed request: ${message}`, { scope: "stream" });
}

/**
 * Validates a request's field lines and returns its head. Throws H3Error H3_MESSAGE_ERROR
 * (stream scope) for a malformed request.
 *
 * @example
 * ```ts
 * const head = parseRequestHead([
 *   [":method", "GET"], [":scheme", "https"], [":authority", "localhost"], [":path", "/healthz"],
 * ]);
 * head.url; // "https://localhost/healthz"
 * ```
 */
export function parseRequestHead(fields: readonly FieldLine[]): RequestHead {
  const pseudo = new Map<string, string>();
  const headers: [string, string][] = [];
  let host: string | null = null;
  const contentLengths: string[] = [];
  let regularSeen = false;
  for (const [name, value] of fields) {
    if (name.startsWith(":")) {
      if (regularSeen) throw malformed(`pseudo-header ${name} after a regular field`);
      if (!REQUEST_PSEUDO_HEADERS.has(name)) throw malformed(`pseudo-header ${name}`);
      if (pseudo.has(name)) throw malformed(`repeated pseudo-header ${name}`);
      pseudo.set(name, value);
      continue;
    }
    regularSeen = true;
    checkRegularField(name, value);
    if (name === "host") host = host === null ? value : `${host}, ${value}`;
    else if (name === "content-length") contentLengths.push(value);
    headers.push([name, value]);
  }
  const method = pseudo.get(":method");
  if (method === undefined || method === "") throw malformed("missing :method");
  if (method === "CONNECT" || pseudo.has(":protocol")) {
    throw malformed("CONNECT is not supported");
  }
  const scheme = pseudo.get(":scheme");
  const path = pseudo.get(":path");
  if (scheme === undefined || scheme === "") throw malformed("missing :scheme");
  if (scheme !== "https" && scheme !== "http") throw malformed(`:scheme ${scheme.slice(0, 16)}`);
  if (path === undefined || path === "") throw malformed("missing :path");
  if (!path.startsWith("/") && !(path === "*" && method === "OPTIONS")) {
    throw malformed(`:path ${JSON.stringify(path.slice(0, 64))} is not origin-form`);
  }
  const authority = pseudo.get(":authority") ?? host ?? "";
  if (authority === "") throw malformed("missing :authority and host");
  if (host !== null && pseudo.has(":authority") && host !== authority) {
    throw malformed(":authority and host differ");
  }
  // The Request constructor parses this URL; refusing bad characters here keeps a bad
  // :authority or :path a malformed request rather than an app error.
  if (!URL_PART_PATTERN.test(authority) || !URL_PART_PATTERN.test(path)) {
    throw malformed(":authority or :path holds characters a URL cannot");
  }
  const originPath = path === "*" ? "/" : path;
  const url = `${scheme}://${authority}${originPath}`;
  return {
    method,
    url,
    path: originPath,
    headers,
    contentLengthBytes: contentLength(contentLengths),
  };
}

function checkRegularField(name: string, value: string): void {
  if (!FIELD_NAME_PATTERN.test(name)) {
    throw malformed(`field name ${JSON.stringify(name.slice(0, 64))} is not a lowercase token`);
  }
  if (CONNECTION_SPECIFIC_FIELDS.has(name)) throw malformed(`connection-specific field ${name}`);
  if (name === "te" && value.toLowerCase() !== "trailers") {
    throw malformed(`te ${JSON.stringify(value.slice(0, 64))} is not "trailers"`);
  }
  if (FIELD_VALUE_FORBIDDEN_PATTERN.test(value)) throw malformed(`invalid value for field ${name}`);
}

function contentLength(fieldValues: readonly string[]): number | null {
  if (fieldValues.length === 0) return null;
  // Repeated identical values, in one field or several, are allowed (RFC 9110 §8.6).
  const values = new Set(fieldValues.join(",").split(",").map((part) => part.trim()));
  if (values.size !== 1) throw malformed("conflicting content-length values");
  const [only] = values;
  if (!/^[0-9]{1,15}$/.test(only)) throw malformed(`content-length ${JSON.stringify(only)}`);
  return Number(only);
}

/**
 * The field lines of a response head: `:status` first, then the headers minus the fields HTTP/3
 * forbids. Names from `Headers` are already lowercase.
 *
 * @example
 * ```ts
 * responseFieldLines(200, new Headers({ "content-type": "text/plain" }));
 * // [[":status", "200"], ["content-type", "text/plain"]]
 * ```
 */
export function responseFieldLines(status: number, headers: Headers): FieldLine[] {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new RangeError(`Cannot encode response: status ${status} is not 100..999`);
  }
  const lines: FieldLine[] = [[":status", String(status)]];
  for (const [name, value] of headers) {
    if (CONNECTION_SPECIFIC_FIELDS.has(name)) continue;
    lines.push([name, value]);
  }
  return lines;
}
