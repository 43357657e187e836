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

import { HTTP_METHOD, type HttpMethodCode, rpcTargetScratch, TARGET_BATCH } from "./route.ts";
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
  }

  /**
   * Sets the target from what `matchRpcTarget` said of `bytes[start, ...)` (TARGET_BATCH, or
   * the end of the name). The bytes must stay as they are until the call is opened.
   *
   * @example
   * ```ts
   * head.setTarget(buf, targetStart, matchRpcTarget(buf, targetStart, targetEnd));
   * ```
   */
  setTarget(bytes: Uint8Array, start: number, matched: number): void {
    this.targetBytes = bytes;
    this.nameStart = start + 5;
    this.batch = matched === TARGET_BATCH;
    this.nameEnd = this.batch ? this.nameStart : matched;
  }

  /**
   * Sets the target from the last `matchRpcPath` (a `:path` string), keeping its own copy of
   * the bytes (the scratch is reused by the next match).
   */
  setTargetFromPath(matched: number): void {
    const end = matched === TARGET_BATCH ? 5 : matched;
    this.setTarget(rpcTargetScratch().slice(0, end), 0, matched);
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
    }
  }
}

const EMPTY = new Uint8Array(0);
