/**
 * The client's request encoder: a request's HEADERS frame (QPACK, static table and literals)
 * and its body's one DATA frame, in one buffer.
 *
 * A client of an RPC service sends the same few heads over and over (same method, URL, content
 * type and length): the encoded field section is kept per head, so a repeated request costs a
 * map lookup and one copy instead of a URL parse, a `Headers` object and a QPACK encode. The
 * cache is bounded in entries and key length.
 *
 * @module
 */

import { FRAME_TYPE } from "./frame.ts";
import { encodeFieldSection } from "./qpack.ts";
import { CONNECTION_SPECIFIC_FIELDS } from "./request_head.ts";
import { varintLength, writeVarint } from "./varint.ts";

/** A request as the encoder takes it. */
export interface OutgoingRequest {
  /** Upper-case method, e.g. "POST". */
  readonly method: string;
  /** Absolute https URL. */
  readonly url: string;
  /** Regular fields as (name, value) pairs; names in any case (lower-cased here). */
  readonly headers: readonly (readonly [string, string])[];
  /** The whole body, or null for none. */
  readonly body: Uint8Array | null;
}

/** Bounds the cached field sections. */
const SECTION_COUNT_MAX = 256;
/** Heads whose key is longer than this are encoded every time. */
const SECTION_KEY_CHARS_MAX = 2048;

/** Printable token characters (RFC 9110 §5.6.2). */
const FIELD_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;
/** Characters no field value may hold. */
const FIELD_VALUE_FORBIDDEN_PATTERN = /[\0\r\n]/;

/**
 * Fields a request never carries over HTTP/3: the connection-specific ones (RFC 9114 §4.2) and
 * `host`, which `:authority` replaces.
 */
const FIELDS_NOT_SENT: ReadonlySet<string> = new Set([...CONNECTION_SPECIFIC_FIELDS, "host"]);

/**
 * Encodes requests of one connection (`authority` is used when a URL has none).
 *
 * @example
 * ```ts
 * const encoder = new RequestEncoder("localhost:8443");
 * const bytes = encoder.encode({ method: "POST", url: "https://localhost:8443/rpc/system.echo",
 *   headers: [["content-type", "application/json"]], body: new TextEncoder().encode("{}") });
 * ```
 */
export class RequestEncoder {
  readonly #authority: string;
  readonly #sections = new Map<string, Uint8Array>();

  constructor(authority: string) {
    this.#authority = authority;
  }

  /**
   * HEADERS (with content-length when there is a body) + the body's DATA frame, one buffer.
   * Throws TypeError for a URL that is not absolute or a field name or value HTTP forbids.
   */
  encode(request: OutgoingRequest): Uint8Array {
    const section = this.#section(request);
    const body = request.body;
    const bodyBytes = body === null || body.length === 0 ? 0 : body.length;
    const headersBytes = varintLength(FRAME_TYPE.HEADERS) + varintLength(section.length) +
      section.length;
    const dataBytes = bodyBytes === 0
      ? 0
      : varintLength(FRAME_TYPE.DATA) + varintLength(bodyBytes) + bodyBytes;
    const out = new Uint8Array(headersBytes + dataBytes);
    let offset = writeVarint(out, writeVarint(out, 0, FRAME_TYPE.HEADERS), section.length);
    out.set(section, offset);
    offset += section.length;
    if (bodyBytes > 0) {
      offset = writeVarint(out, writeVarint(out, offset, FRAME_TYPE.DATA), bodyBytes);
      out.set(body!, offset);
    }
    return out;
  }

  #section(request: OutgoingRequest): Uint8Array {
    const key = sectionKey(request);
    const cached = key === null ? undefined : this.#sections.get(key);
    if (cached !== undefined) return cached;
    const section = encodeFieldSection(this.#fieldLines(request));
    if (key !== null) {
      // Clearing when full keeps the cache bounded without LRU bookkeeping.
      if (this.#sections.size >= SECTION_COUNT_MAX) this.#sections.clear();
      this.#sections.set(key, section);
    }
    return section;
  }

  /** The request's field lines, validated (only on a cache miss). */
  #fieldLines(request: OutgoingRequest): [string, string][] {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      throw new TypeError(`Cannot send request: URL ${request.url.slice(0, 64)} is not absolute`);
    }
    const lines: [string, string][] = [
      [":method", request.method],
      [":scheme", "https"],
      [":authority", url.host || this.#authority],
      [":path", `${url.pathname}${url.search}`],
    ];
    let lengthSent = false;
    for (const [rawName, value] of request.headers) {
      const name = rawName.toLowerCase();
      if (!FIELD_NAME_PATTERN.test(name) || FIELD_VALUE_FORBIDDEN_PATTERN.test(value)) {
        throw new TypeError(`Cannot send request: invalid header ${name.slice(0, 64)}`);
      }
      if (FIELDS_NOT_SENT.has(name)) continue;
      if (name === "content-length") lengthSent = true;
      lines.push([name, value]);
    }
    if (request.body !== null && !lengthSent) {
      // A declared length lets the server finish reading the body without waiting for FIN.
      lines.push(["content-length", String(request.body.length)]);
    }
    return lines;
  }
}

/** The cache key of a request's head (the body's length included), or null when too long. */
function sectionKey(request: OutgoingRequest): string | null {
  let key = `${request.method} ${request.url} ${request.body?.length ?? -1}`;
  const headers = request.headers;
  for (let i = 0; i < headers.length; i++) key += `\n${headers[i][0]}\0${headers[i][1]}`;
  return key.length > SECTION_KEY_CHARS_MAX ? null : key;
}
