/**
 * Request header blocks as RFC 9113 §8.2 and §8.3 require: collects the decoded fields of one
 * block (it is the HPACK decoder's sink) and then validates them into a {@link ParsedHead}, or
 * finds the request malformed — a stream error PROTOCOL_ERROR (§8.1.1).
 *
 * Malformed: a field name that is not a lower-case token; a value with NUL, CR or LF, or
 * starting or ending with SP/HTAB (§8.2.1); a connection-specific field or `te` other than
 * "trailers" (§8.2.2); an unknown, response, repeated or late pseudo-header, or a missing
 * :method, :scheme or :path (§8.3.1; CONNECT has only :method and :authority, §8.5); an empty
 * :path, or one that is neither origin-form nor "*"; a content-length that is not one run of
 * digits or that appears twice; a host that differs from :authority.
 *
 * A parsed head is immutable and shared by every request whose block had the same bytes (the
 * connection's {@link HeadCache}), so one allocation per request remains: the
 * {@link RequestHead} that adds the stream ID and END_STREAM.
 *
 * @example
 * ```ts
 * import { RequestHeadBuilder } from "./request_head.ts";
 * const builder = new RequestHeadBuilder();
 * builder.onField(":method", "GET");
 * builder.onField(":scheme", "https");
 * builder.onField(":path", "/healthz");
 * builder.build(1).path; // "/healthz"
 * ```
 * @module
 */

import { streamError } from "./errors.ts";
import type { H2RequestHead } from "./handler.ts";
import type { FieldSink } from "./hpack.ts";

/** A validated request head without its stream: what a repeated block decodes to. */
export interface ParsedHead {
  readonly method: string;
  readonly path: string;
  readonly scheme: string;
  readonly authority: string | null;
  readonly fields: readonly (readonly [string, string])[];
  readonly contentLengthBytes: number;
  /** name + value + 32 per field (RFC 9113 §6.5.2): what holding this head costs. */
  readonly sizeBytes: number;
}

/** The head handed to the handler: a parsed head plus the stream and END_STREAM. */
export class RequestHead implements H2RequestHead {
  readonly streamId: number;
  readonly method: string;
  readonly path: string;
  readonly scheme: string;
  readonly authority: string | null;
  readonly fields: readonly (readonly [string, string])[];
  readonly contentLengthBytes: number;
  readonly endStream: boolean;

  constructor(streamId: number, parsed: ParsedHead, endStream: boolean) {
    this.streamId = streamId;
    this.method = parsed.method;
    this.path = parsed.path;
    this.scheme = parsed.scheme;
    this.authority = parsed.authority;
    this.fields = parsed.fields;
    this.contentLengthBytes = parsed.contentLengthBytes;
    this.endStream = endStream;
  }
}

/** Lower-case token characters (RFC 9110 §5.6.2), the only ones a field name may have here. */
const NAME_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") {
  NAME_CHAR[c.charCodeAt(0)] = 1;
}

const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

const CONTENT_LENGTH_DIGITS_MAX = 15;
const FIELD_OVERHEAD_BYTES = 32;

function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 128 || NAME_CHAR[code] === 0) return false;
  }
  return true;
}

/** No NUL, CR or LF, and no SP/HTAB at either end (RFC 9113 §8.2.1). */
function validValue(value: string): boolean {
  const last = value.length - 1;
  if (last >= 0) {
    const first = value.charCodeAt(0);
    const end = value.charCodeAt(last);
    if (first === 0x20 || first === 0x09 || end === 0x20 || end === 0x09) return false;
  }
  for (let i = 0; i <= last; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d) return false;
  }
  return true;
}

/**
 * Collects one block's fields and validates them. Reused for every block of a connection.
 *
 * @example
 * ```ts
 * builder.reset();
 * decoder.decode(block, 0, block.length, builder);
 * const parsed = builder.build(streamId); // or throws a stream error
 * ```
 */
export class RequestHeadBuilder implements FieldSink {
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  #count = 0;

  /** Forgets the last block's fields. */
  reset(): void {
    this.#count = 0;
  }

  /** Fields collected for the current block. */
  get count(): number {
    return this.#count;
  }

  onField(name: string, value: string): void {
    this.#names[this.#count] = name;
    this.#values[this.#count] = value;
    this.#count++;
  }

  /** The collected fields as a request head; throws a stream error when malformed. */
  build(streamId: number): ParsedHead {
    const pseudo = { method: "", scheme: "", path: "", authority: null as string | null };
    const seen = new Set<string>();
    const fields: [string, string][] = [];
    let cookie: string | null = null;
    let cookieAt = -1;
    let contentLengthBytes = -1;
    let host: string | null = null;
    let sizeBytes = 0;
    let regular = false;
    for (let i = 0; i < this.#count; i++) {
      const name = this.#names[i];
      const value = this.#values[i];
      sizeBytes += name.length + value.length + FIELD_OVERHEAD_BYTES;
      if (!validValue(value)) throw malformed(streamId, `field ${name} has an invalid value`);
      if (name.charCodeAt(0) === 0x3a) {
        if (regular) throw malformed(streamId, `pseudo-header ${name} after a regular field`);
        if (seen.has(name)) throw malformed(streamId, `pseudo-header ${name} repeated`);
        seen.add(name);
        setPseudo(pseudo, name, value, streamId);
        continue;
      }
      regular = true;
      if (!validName(name)) throw malformed(streamId, `field name ${JSON.stringify(name)}`);
      if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection field ${name}`);
      if (name === "te" && value !== "trailers") throw malformed(streamId, `te: ${value}`);
      if (name === "cookie") {
        // Crumbs are joined into one field at the first crumb's place (RFC 9113 §8.2.3).
        if (cookie === null) {
          cookie = value;
          cookieAt = fields.length;
          fields.push(["cookie", ""]);
        } else {
          cookie += "; " + value;
        }
        continue;
      }
      if (name === "content-length") {
        if (contentLengthBytes >= 0) throw malformed(streamId, "content-length repeated");
        contentLengthBytes = parseContentLength(value, streamId);
      } else if (name === "host") {
        if (host !== null) throw malformed(streamId, "host repeated");
        host = value;
      }
      fields.push([name, value]);
    }
    if (cookie !== null) fields[cookieAt] = ["cookie", cookie];
    checkPseudo(pseudo, host, streamId);
    return Object.freeze({
      method: pseudo.method,
      path: pseudo.path,
      scheme: pseudo.scheme,
      authority: pseudo.authority ?? host,
      fields: Object.freeze(fields),
      contentLengthBytes,
      sizeBytes,
    });
  }

  /** Checks the collected fields as trailers (no pseudo-headers, valid fields). */
  checkTrailers(streamId: number): void {
    for (let i = 0; i < this.#count; i++) {
      const name = this.#names[i];
      if (name.charCodeAt(0) === 0x3a) {
        throw malformed(streamId, `pseudo-header ${name} in trailers`);
      }
      if (!validName(name) || !validValue(this.#values[i]) || CONNECTION_SPECIFIC.has(name)) {
        throw malformed(streamId, `trailer field ${JSON.stringify(name)}`);
      }
    }
  }
}

function malformed(streamId: number, what: string) {
  return streamError("PROTOCOL_ERROR", streamId, `malformed request: ${what}`);
}

function setPseudo(
  pseudo: { method: string; scheme: string; path: string; authority: string | null },
  name: string,
  value: string,
  streamId: number,
): void {
  switch (name) {
    case ":method":
      if (!validName(value.toLowerCase())) throw malformed(streamId, `:method ${value}`);
      pseudo.method = value;
      return;
    case ":scheme":
      if (value === "") throw malformed(streamId, "empty :scheme");
      pseudo.scheme = value;
      return;
    case ":path":
      pseudo.path = value;
      return;
    case ":authority":
      pseudo.authority = value;
      return;
  }
  throw malformed(streamId, `pseudo-header ${name}`);
}

function checkPseudo(
  pseudo: { method: string; scheme: string; path: string; authority: string | null },
  host: string | null,
  streamId: number,
): void {
  if (pseudo.method === "") throw malformed(streamId, "no :method");
  if (pseudo.method === "CONNECT") {
    // RFC 9113 §8.5: only :method and :authority.
    if (pseudo.scheme !== "" || pseudo.path !== "") throw malformed(streamId, "CONNECT with :path");
    if (pseudo.authority === null) throw malformed(streamId, "CONNECT without :authority");
    return;
  }
  if (pseudo.scheme === "") throw malformed(streamId, "no :scheme");
  if (pseudo.path === "") throw malformed(streamId, "no :path");
  const asterisk = pseudo.path === "*" && pseudo.method === "OPTIONS";
  if (pseudo.path.charCodeAt(0) !== 0x2f && !asterisk) {
    throw malformed(streamId, `:path ${pseudo.path} is not origin-form`);
  }
  if (host !== null && pseudo.authority !== null && host !== pseudo.authority) {
    throw malformed(streamId, "host differs from :authority");
  }
}

function parseContentLength(value: string, streamId: number): number {
  if (value.length === 0 || value.length > CONTENT_LENGTH_DIGITS_MAX) {
    throw malformed(streamId, `content-length ${value}`);
  }
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) throw malformed(streamId, `content-length ${value}`);
    bytes = bytes * 10 + digit;
  }
  return bytes;
}
