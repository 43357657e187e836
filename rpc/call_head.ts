/**
 * The few request fields the call core reads, filled by a transport before any body byte is
 * read. A transport keeps one per connection or stream and refills it per request (the HTTP/1.1
 * head parser extends it, so a request costs no extra object).
 *
 * Every field the core reads is a singleton: a transport counts the values it saw, and the core
 * refuses two of them (400) on every transport alike, instead of one listener taking the last
 * value and another joining them.
 *
 * @module
 */

import {
  HTTP_METHOD,
  type HttpMethodCode,
  rpcTargetScratch,
  TARGET_BATCH,
  TARGET_BYTES_MAX,
} from "./route.ts";
import type { Transport } from "./request_log.ts";
import type { ShareAccount } from "./fair_share.ts";

/** The fields a call needs; see the module doc. */
export class CallHead {
  /** How the request arrived (the request log's `transport`). */
  transport: Transport;
  /** The connection's fair-share account (set once per connection); null = not capped. */
  share: ShareAccount | null = null;
  /** The request method (HTTP_METHOD). */
  methodCode: HttpMethodCode = HTTP_METHOD.other;
  /** The bytes holding the request target, and where its method name lies (see route.ts). */
  targetBytes: Uint8Array = EMPTY;
  nameStart = 0;
  nameEnd = 0;
  /** True for `/rpc` (a batch): the name range is empty then. */
  batch = false;
  contentType: string | null = null;
  contentTypeCount = 0;
  /** The parsed Content-Length, or -1 when absent. */
  contentLengthBytes = -1;
  authorization: string | null = null;
  authorizationCount = 0;
  rpcTimeoutMs: string | null = null;
  rpcTimeoutMsCount = 0;
  /**
   * Where the query (the bytes after the first `?`) lies in `targetBytes`: `[queryStart,
   * queryEnd)`, or -1 when the target has no `?`. Nothing of it is decoded here.
   */
  queryStart = -1;
  queryEnd = 0;
  /** The whole target's length (HTTP/2 and HTTP/3 copy at most TARGET_BYTES_MAX of it). */
  targetLengthBytes = 0;
  /** `Origin` (CORS); a second one is counted, and such a request gets no grant. */
  origin: string | null = null;
  originCount = 0;
  /** `Access-Control-Request-Method` (a preflight's), the last value. */
  preflightMethod: string | null = null;
  /** `If-None-Match` and `Accept-Encoding`: lists, so repeated fields are joined with ", ". */
  ifNoneMatch: string | null = null;
  acceptEncoding: string | null = null;
  /** `Content-Encoding` of the body, and how many fields carried one. */
  contentEncoding: string | null = null;
  contentEncodingCount = 0;

  constructor(transport: Transport = "h1") {
    this.transport = transport;
  }

  /** Clears the per-request fields (the transport label stays). */
  resetCallFields(): void {
    this.methodCode = HTTP_METHOD.other;
    this.targetBytes = EMPTY;
    this.nameStart = this.nameEnd = 0;
    this.batch = false;
    this.contentType = null;
    this.contentTypeCount = 0;
    this.contentLengthBytes = -1;
    this.authorization = null;
    this.authorizationCount = 0;
    this.rpcTimeoutMs = null;
    this.rpcTimeoutMsCount = 0;
    this.queryStart = -1;
    this.queryEnd = this.targetLengthBytes = 0;
    this.origin =
      this.preflightMethod =
      this.ifNoneMatch =
      this.acceptEncoding =
        null;
    this.originCount = 0;
    this.contentEncoding = null;
    this.contentEncodingCount = 0;
  }

  /**
   * Sets the target `bytes[start, end)` from what `matchRpcTarget` said of it (TARGET_BATCH,
   * or the end of the name), and where its query lies. The bytes must stay as they are until
   * the call is opened.
   *
   * @example
   * ```ts
   * head.setTarget(buf, targetStart, targetEnd, matchRpcTarget(buf, targetStart, targetEnd));
   * ```
   */
  setTarget(bytes: Uint8Array, start: number, end: number, matched: number): void {
    this.targetBytes = bytes;
    this.nameStart = start + 5;
    this.batch = matched === TARGET_BATCH;
    this.nameEnd = this.batch ? this.nameStart : matched;
    // The name ends at the first `?` ("/rpc?" has it at index 4): the query starts after it.
    const mark = this.batch ? start + 4 : matched;
    this.queryStart = mark < end && bytes[mark] === 0x3f ? mark + 1 : -1;
    this.queryEnd = end;
    this.targetLengthBytes = end - start;
  }

  /**
   * Sets the target from the last `matchRpcPath` of a `:path` of `pathLength` chars, keeping
   * its own copy of the bytes matched (the scratch is reused by the next match).
   */
  setTargetFromPath(matched: number, pathLength: number): void {
    const copied = Math.min(pathLength, TARGET_BYTES_MAX);
    this.setTarget(rpcTargetScratch().slice(0, copied), 0, copied, matched);
    this.targetLengthBytes = pathLength;
  }

  /**
   * Reads one header field that the core needs (lower-case `name`); other names are ignored.
   * For transports whose fields arrive as strings (HTTP/2, HTTP/3); they parse Content-Length
   * themselves, as part of their framing.
   *
   * @example
   * ```ts
   * for (const [name, value] of fields) head.readField(name, value);
   * ```
   */
  readField(name: string, value: string): void {
    switch (name) {
      case "content-type":
        this.contentType = value;
        this.contentTypeCount++;
        break;
      case "authorization":
        this.authorization = value;
        this.authorizationCount++;
        break;
      case "rpc-timeout-ms":
        this.rpcTimeoutMs = value;
        this.rpcTimeoutMsCount++;
        break;
      case "origin":
        this.origin = value;
        this.originCount++;
        break;
      case "access-control-request-method":
        this.preflightMethod = value;
        break;
      case "if-none-match":
        this.ifNoneMatch = joinListField(this.ifNoneMatch, value);
        break;
      case "accept-encoding":
        this.acceptEncoding = joinListField(this.acceptEncoding, value);
        break;
      case "content-encoding":
        this.contentEncoding = value;
        this.contentEncodingCount++;
        break;
    }
  }
}

const EMPTY = new Uint8Array(0);

/**
 * A list field's value with one more field line (RFC 9110 section 5.3: the same as one field
 * of the values joined by commas).
 *
 * @example
 * ```ts
 * joinListField("gzip", "zstd"); // "gzip, zstd"
 * ```
 */
export function joinListField(held: string | null, value: string): string {
  return held === null ? value : `${held}, ${value}`;
}
