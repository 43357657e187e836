/**
 * The Deno.serve adapter onto the call core, for the TLS port until it moves to the service's
 * own HTTP/2 stack: a `Request` whose path is in the /rpc namespace becomes a `CallHead` plus
 * body chunks pushed into the call (read from the request's stream), and the core's answer is
 * copied once into a `Response` (docs/design.md invariant 4: no pool view reaches a Response body). Every
 * other request goes to the Hono app. Nothing of the call is decided here.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { AnswerSink, CallAnswer, HeaderPairs } from "../rpc/answer.ts";
import { CallHead } from "../rpc/call_head.ts";
import type { CallBody, CallCore } from "../rpc/core.ts";
import { httpMethodCode, matchRpcPath, TARGET_APP } from "../rpc/route.ts";
import type { Transport } from "../rpc/request_log.ts";

/** The most chunks read from one request body (bounds the loop; the call bounds the bytes). */
const BODY_CHUNKS_MAX = 1 << 20;

/** One call's sink: resolves the Response once the core answers. */
class ResponseSink implements AnswerSink {
  readonly #extra: HeaderPairs;
  readonly #done = Promise.withResolvers<Response>();

  constructor(extra: HeaderPairs) {
    this.#extra = extra;
  }

  get response(): Promise<Response> {
    return this.#done.promise;
  }

  answer(answer: CallAnswer): void {
    try {
      const headers = new Headers();
      for (const [name, value] of this.#extra) headers.set(name, value);
      for (const [name, value] of answer.fields) headers.set(name, value);
      headers.set("content-type", answer.contentType);
      headers.set("content-length", String(answer.body.length));
      this.#done.resolve(new Response(answer.body.slice(), { status: answer.status, headers }));
    } finally {
      answer.release();
    }
  }

  /** The call was aborted (the client left): Deno.serve discards what we answer. */
  abandon(): void {
    this.#done.resolve(new Response(null, { status: 499 }));
  }
}

/**
 * A fetch handler: /rpc targets through the core, the rest through `app`.
 *
 * @example
 * ```ts
 * Deno.serve({ port, cert, key }, denoServeHandler({ core, app: hono.fetch, transport: "tls" }));
 * ```
 */
export function denoServeHandler(options: {
  readonly core: CallCore;
  readonly app: (request: Request) => Response | Promise<Response>;
  readonly transport: Transport;
  readonly extraHeaders: HeaderPairs;
}): (request: Request) => Response | Promise<Response> {
  return (request) => {
    const url = request.url;
    const pathStart = url.indexOf("/", url.indexOf("://") + 3);
    const path = pathStart < 0 ? "/" : url.slice(pathStart);
    const nameEnd = matchRpcPath(path);
    if (nameEnd === TARGET_APP) return options.app(request);
    const head = new CallHead(options.transport);
    head.methodCode = httpMethodCode(request.method);
    head.setTargetFromPath(nameEnd);
    for (const [name, value] of request.headers) head.readField(name, value);
    const length = request.headers.get("content-length");
    if (length !== null) {
      if (!/^[0-9]{1,15}$/.test(length)) {
        return new Response("bad content-length", { status: 400 });
      }
      head.contentLengthBytes = Number(length);
    }
    const sink = new ResponseSink(options.extraHeaders);
    const call = options.core.open(head, sink);
    if (call !== null) pushStream(call, request, sink);
    return sink.response;
  };
}

/** Reads the request's body stream into the call. */
async function pushStream(call: CallBody, request: Request, sink: ResponseSink): Promise<void> {
  const reader = request.body?.getReader();
  try {
    if (reader !== undefined) {
      for (let i = 0; i < BODY_CHUNKS_MAX && call.accepting; i++) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!call.push(value)) break;
      }
    }
    if (call.accepting) call.end();
  } catch (error) {
    call.abort(error);
    sink.abandon();
  } finally {
    if (call.accepting) call.fail(new RpcError("invalid_argument", "Cannot read body: too long"));
    reader?.cancel().catch(() => {});
  }
}
