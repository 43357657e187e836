/**
 * The HTTP/2 adapter: the engine's requests (`H2Handler`) onto the one call core and, for every
 * target outside `/rpc`, onto the Hono app. A `/rpc` stream becomes a `CallHead` (made once per
 * distinct header block: the engine's head cache hands back the same field list for a repeated
 * block) and the core decides everything; this file only moves bytes:
 * - the stream's receive window opens by the call's declared length once the core has admitted
 *   the call (lookup, auth, size, share and lease done); a refused call gets its answer and no
 *   window, and the engine resets the rest of its upload with NO_ERROR (RFC 9113 §8.1);
 * - each DATA payload is pushed into the call straight from the engine's read buffer;
 * - the answer leaves as HEADERS + DATA from its block, which is released once copied out.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import {
  answerHasContent,
  type AnswerSink,
  type CallAnswer,
  type HeaderPairs,
} from "../rpc/answer.ts";
import { CallHead } from "../rpc/call_head.ts";
import type { CallBody, CallCore } from "../rpc/core.ts";
import type { ShareAccount } from "../rpc/fair_share.ts";
import { httpMethodCode, matchRpcPath, TARGET_APP } from "../rpc/route.ts";
import type { Transport } from "../rpc/request_log.ts";
import { H2Error } from "./errors.ts";
import type { H2Handler, H2RequestHead, H2ServerStream, H2StreamHandler } from "./handler.ts";

/** The window kept open past a body's last byte, for a later empty DATA with END_STREAM. */
const END_STREAM_WINDOW_BYTES = 1;

/** What the adapter of one connection serves with. */
export interface H2AdapterOptions {
  readonly core: CallCore;
  /** The Hono app's fetch for every target outside /rpc. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Fields on every answer (the TCP side's Alt-Svc). */
  readonly extraHeaders: HeaderPairs;
  /** The request log's label ("h2" over TLS, "h2c" in the clear). */
  readonly transport: Transport;
  /** What the engine lets a stream send before any grant (its SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly initialWindowBytes: number;
  /** `https` or `http` (the app's request URL). */
  readonly scheme: string;
}

/** A stream that takes nothing more: data after an early answer is dropped. */
const IGNORE: H2StreamHandler = Object.freeze({
  onData() {},
  onEnd() {},
  onAbort() {},
});

/** One call on one stream: the core's sink and the engine's stream handler. */
class CallStream implements AnswerSink, H2StreamHandler {
  readonly #stream: H2ServerStream;
  readonly #extra: HeaderPairs;
  #body: CallBody | null = null;

  constructor(stream: H2ServerStream, extra: HeaderPairs) {
    this.#stream = stream;
    this.#extra = extra;
  }

  /** Opens the call; the window opens only once the core admitted it. */
  open(core: CallCore, head: CallHead, options: H2AdapterOptions, endStream: boolean): void {
    const body = core.open(head, this);
    if (body === null) return;
    this.#body = body;
    if (endStream) {
      body.end();
      return;
    }
    // One byte more than the body needs: a client that sends its last DATA without END_STREAM
    // and ends the stream later (Node's `write()` then `end()`) must still have window for that
    // empty frame — nghttp2 sends no DATA at all, not even an empty one, on a window of 0. The
    // byte cannot let a body past its bound: a content-length is checked against what came,
    // and a body past the lease's room is refused.
    const more = body.wantBytes + END_STREAM_WINDOW_BYTES - options.initialWindowBytes;
    if (more > 0) this.#stream.grant(more);
  }

  answer(answer: CallAnswer): void {
    const fields: [string, string][] = [];
    if (answer.contentType !== "") fields.push(["content-type", answer.contentType]);
    if (answerHasContent(answer.status)) {
      fields.push(["content-length", String(answer.body.length)]);
    }
    for (const field of answer.fields) fields.push([field[0], field[1]]);
    for (const field of this.#extra) fields.push([field[0], field[1]]);
    this.#stream.respond(answer.status, fields, answer.body, () => answer.release());
  }

  onData(bytes: Uint8Array): void {
    this.#body?.push(bytes);
  }

  onEnd(): void {
    this.#body?.end();
  }

  onAbort(reason: Error): void {
    const body = this.#body;
    if (body === null) return;
    // A malformed message (a body that does not match its content-length) is the client's
    // error, logged as such; anything else (a reset, a lost connection) is the client leaving.
    if (reason instanceof H2Error && reason.codeName === "PROTOCOL_ERROR") {
      body.fail(new RpcError("invalid_argument", `Cannot read body: ${reason.message}`));
    } else body.abort(reason);
  }
}

/**
 * The handler of one HTTP/2 connection (its fair-share account is the connection's).
 *
 * @example
 * ```ts
 * const handler = new H2CoreAdapter({ core, fetch, extraHeaders, transport: "h2",
 *   initialWindowBytes: limits.initialWindowBytes, scheme: "https" }, core.deps.shares.connectionAccount());
 * new H2Connection(conn, { handler, clock, limits }).run();
 * ```
 */
export class H2CoreAdapter implements H2Handler {
  readonly #options: H2AdapterOptions;
  readonly #share: ShareAccount;
  /** Call heads per field list: a repeated header block is the same list (the head cache). */
  readonly #heads = new WeakMap<object, CallHead>();

  constructor(options: H2AdapterOptions, share: ShareAccount) {
    this.#options = options;
    this.#share = share;
  }

  onRequest(head: H2RequestHead, stream: H2ServerStream): H2StreamHandler {
    const matched = matchRpcPath(head.path);
    if (matched === TARGET_APP) {
      if (head.endStream) {
        serveApp(head, stream, this.#options);
        return IGNORE;
      }
      return new AppBodyDiscard(head, stream, this.#options);
    }
    const call = new CallStream(stream, this.#options.extraHeaders);
    call.open(this.#options.core, this.#callHead(head, matched), this.#options, head.endStream);
    return call;
  }

  #callHead(head: H2RequestHead, matched: number): CallHead {
    let callHead = this.#heads.get(head.fields);
    if (callHead !== undefined && callHead.contentLengthBytes === head.contentLengthBytes) {
      return callHead;
    }
    callHead = new CallHead(this.#options.transport);
    callHead.share = this.#share;
    callHead.methodCode = httpMethodCode(head.method);
    callHead.setTargetFromPath(matched, head.path.length);
    for (const [name, value] of head.fields) callHead.readField(name, value);
    callHead.contentLengthBytes = head.contentLengthBytes;
    this.#heads.set(head.fields, callHead);
    return callHead;
  }
}

/** The most body bytes an app request may send before its answer (the routes take none). */
export const APP_BODY_DISCARD_BYTES_MAX = 64 * 1024;

/**
 * An app request that came with a body: the app's routes take none, so the bytes are dropped
 * (and the window reopened by as much, up to APP_BODY_DISCARD_BYTES_MAX), and the app answers at
 * the body's end. Waiting for the end lets the engine check the body against its content-length
 * first (a mismatch is a stream error, RFC 9113 §8.1.1); a body past the bound is answered 413.
 */
class AppBodyDiscard implements H2StreamHandler {
  readonly #head: H2RequestHead;
  readonly #stream: H2ServerStream;
  readonly #options: H2AdapterOptions;
  #droppedBytes = 0;
  #answered = false;

  constructor(head: H2RequestHead, stream: H2ServerStream, options: H2AdapterOptions) {
    this.#head = head;
    this.#stream = stream;
    this.#options = options;
  }

  onData(bytes: Uint8Array): void {
    if (this.#answered) return;
    this.#droppedBytes += bytes.length;
    if (this.#droppedBytes > APP_BODY_DISCARD_BYTES_MAX) {
      this.#answered = true;
      const error = new RpcError(
        "resource_exhausted",
        `Cannot serve ${this.#head.path}: it takes no request body`,
        { httpStatus: 413 },
      );
      new CallStream(this.#stream, this.#options.extraHeaders)
        .answer(this.#options.core.refusal(error, null));
      return;
    }
    this.#stream.grant(bytes.length);
  }

  onEnd(): void {
    if (this.#answered) return;
    this.#answered = true;
    serveApp(this.#head, this.#stream, this.#options);
  }

  onAbort(): void {
    this.#answered = true;
  }
}

/** The app's answer to a target outside /rpc (its routes take no request body). */
function serveApp(head: H2RequestHead, stream: H2ServerStream, options: H2AdapterOptions): void {
  let request: Request;
  try {
    const headers = new Headers();
    for (const [name, value] of head.fields) headers.append(name, value);
    const authority = head.authority ?? "localhost";
    request = new Request(`${options.scheme}://${authority}${head.path}`, {
      method: head.method,
      headers,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const answer = options.core.refusal(
      new RpcError("invalid_argument", `Bad request: ${message}`),
      null,
    );
    new CallStream(stream, options.extraHeaders).answer(answer);
    return;
  }
  Promise.resolve().then(() => options.fetch(request)).then(
    (response) => writeAppResponse(stream, response, { ...options, method: head.method }),
    (error) => {
      console.error("http2: the app failed:", error);
      stream.respond(
        500,
        [["content-type", "text/plain"]],
        new TextEncoder().encode("Internal error"),
      );
    },
  );
}

/** The most chunks read from one app response body (bounds the loop). */
const RESPONSE_CHUNKS_MAX = 1 << 20;

/** Writes an app Response: head with its fields (and the extra ones), then its body. */
async function writeAppResponse(
  stream: H2ServerStream,
  response: Response,
  options: H2AdapterOptions & { method: string },
): Promise<void> {
  const fields: [string, string][] = [];
  for (const [name, value] of response.headers) {
    if (name !== "connection" && name !== "transfer-encoding" && name !== "keep-alive") {
      fields.push([name, value]);
    }
  }
  for (const [name, value] of options.extraHeaders) {
    if (!response.headers.has(name)) fields.push([name, value]);
  }
  const noBody = options.method === "HEAD" || response.status === 204 || response.status === 304;
  if (noBody || response.body === null) {
    await response.body?.cancel().catch(() => {});
    stream.respond(response.status, fields, null);
    return;
  }
  const reader = response.body.getReader();
  try {
    stream.respondHead(response.status, fields);
    for (let n = 0; n < RESPONSE_CHUNKS_MAX; n++) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length > 0) await stream.write(value);
    }
    stream.end();
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    stream.reset("INTERNAL_ERROR");
  }
}
