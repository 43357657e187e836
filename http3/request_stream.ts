/**
 * One HTTP/3 request stream on the server (RFC 9114 §4.1): HEADERS (QPACK-decoded, possibly
 * blocked on encoder-stream inserts) becomes a `Request` whose body is a pull-driven
 * ReadableStream over the DATA frames; the app's `Response` goes back as HEADERS + DATA.
 *
 * Body bytes are handed to the app as they arrive, one chunk per DATA piece, never gathered: the
 * RPC layer copies each into its pool lease. Response chunks are copied once into DATA frames,
 * so no memory the app owns (a pool view) is ever transferred to the transport.
 *
 * Deno's QUIC API cannot send RESET_STREAM or STOP_SENDING with an application code: a stream
 * error therefore ends our side of the stream (FIN without a response when none was sent) and
 * stops reading the peer's side.
 *
 * @module
 */

import { decodeRequestSection, type SectionDecodeContext } from "./_decode_section.ts";
import { H3Error } from "./errors.ts";
import { encodeDataFrame, encodeHeadersFrame, type Frame, FRAME_TYPE } from "./frame.ts";
import { encodeFieldSection } from "./qpack.ts";
import { parseRequestHead, type RequestHead, responseFieldLines } from "./request_head.ts";
import type { SectionCache } from "./section_cache.ts";
import { H3Call, type RpcRouteContext, serveRpcRoute } from "./rpc_route.ts";
import { matchRpcPath, TARGET_APP } from "../rpc/route.ts";
import { frameBodyStream, StreamInput } from "./stream_input.ts";
import { varintLength, writeVarint } from "./varint.ts";

/** Limits for one request stream. */
export interface RequestStreamLimits {
  /** Longest wait for the client's next bytes (and for blocked QPACK inserts). */
  readonly stallTimeoutMs: number;
  /** Largest request body accepted by this layer (the app may limit further). */
  readonly bodyBytesMax: number;
  /** Largest HEADERS frame payload. */
  readonly headersBytesMax: number;
}

/** Something the connection aborts when it goes away (an AbortController, a call input). */
export interface RequestAbort {
  abort(reason?: unknown): void;
}

/** What a request stream needs from its connection. */
export interface RequestStreamContext extends SectionDecodeContext {
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /**
   * The direct `POST /rpc/<method>` route's context (rpc_route.ts: the call core's deps, the
   * answer-head encoder, the QPACK decoder); null = every request goes to `fetch`.
   */
  readonly rpc: RpcRouteContext | null;
  readonly limits: RequestStreamLimits;
  /**
   * The requests being served: the connection aborts them all when it goes away, and the app
   * sees `request.signal` abort. (A set the connection walks once costs less than an abort
   * listener added and removed per request.)
   */
  readonly requestAborts: Set<RequestAbort>;
  /** Counters the connection reports (see `H3Stats`). */
  readonly stats: { requestCount: number; blockedSectionCount: number };
  /** Parsed heads of the connection's static-only field sections. */
  readonly headCache: SectionCache<RequestHead>;
}

/** Responses up to this size with a Content-Length are sent in one write with their HEADERS. */
const SINGLE_WRITE_BYTES_MAX = 65536;

const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * Serves one request stream to completion (`options.streamId`: the stream's ID when the caller
 * has read it). Resolves when the response is sent or the stream failed with a stream error;
 * rejects only with a connection-scope H3Error (the caller closes the connection with its
 * code).
 *
 * @example
 * ```ts
 * await serveRequestStream(stream, { decoder, fetch: app.fetch, limits, stallWatch,
 *   requestAborts: new Set(), stats: { requestCount: 0, blockedSectionCount: 0 } });
 * ```
 */
export async function serveRequestStream(
  stream: Deno.QuicBidirectionalStream,
  context: RequestStreamContext,
  options: { streamId?: number } = {},
): Promise<void> {
  // The caller may know the ID already (reading it is an op call and a bigint).
  const streamId = options.streamId ?? Number(stream.readable.id);
  const input = new StreamInput(stream.readable, {
    streamKind: "request",
    role: "server",
    stallWatch: context.stallWatch,
    headersBytesMax: context.limits.headersBytesMax,
    // The direct RPC route copies or decodes every byte before it answers: a small request
    // needs no copy out of the reused read buffer (see StreamInput.recycle).
    lendScratch: context.rpc !== null,
  });
  const writer = stream.writable.getWriter();
  let abort: RequestAbort | null = null;
  let responseStarted = false;
  try {
    // The head is read here and parsed by a synchronous helper when cached (an async level
    // less per request: a promise and a hop).
    const parsed = headOf(await input.nextFrame(), streamId, context);
    const head = parsed instanceof Promise ? await parsed : parsed;
    context.stats.requestCount++;
    const nameEnd = context.rpc === null ? TARGET_APP : matchRpcPath(head.path);
    if (nameEnd !== TARGET_APP) {
      const rpc = context.rpc!;
      const call = new H3Call();
      abort = call;
      context.requestAborts.add(call);
      await serveRpcRoute(call, head, { nameEnd, input, writer, context: rpc, streamId });
      // The body went into the lease without a read or a trailer decode left pending, so no
      // view of the read buffers is used any more (an async read may still hold one).
      if (!call.bodyReadAsync) {
        input.cancel();
        input.recycle();
      }
      return;
    }
    // The app may keep the body's chunks: they must not view reused read buffers.
    input.ownBytes();
    const controller = new AbortController();
    abort = controller;
    context.requestAborts.add(controller);
    const request = new Request(head.url, {
      method: head.method,
      headers: head.headers,
      body: hasBody(head) ? requestBody(input, head, { ...context, streamId }) : null,
      signal: controller.signal,
      ...({ duplex: "half" } as Record<string, string>),
    });
    const response = await callApp(context, request);
    responseStarted = true;
    await writeResponse(writer, response, head.method);
  } catch (error) {
    abort?.abort(error);
    if (error instanceof H3Error && error.scope === "connection") throw error;
    if (!responseStarted || !(error instanceof H3Error)) {
      // A stream error: end our side without a response and stop reading theirs.
      await writer.abort(error).catch(() => {});
    }
  } finally {
    if (abort !== null) context.requestAborts.delete(abort);
    input.cancel();
  }
}

/**
 * The request's head from its first frame (which must be HEADERS): from the cache when these
 * section bytes were seen before on this connection, else decoded (waiting if QPACK-blocked)
 * and parsed.
 */
function headOf(
  frame: Frame | null,
  streamId: number,
  context: RequestStreamContext,
): RequestHead | Promise<RequestHead> {
  if (frame === null) {
    throw new H3Error("H3_REQUEST_INCOMPLETE", "stream ended before HEADERS", {
      scope: "stream",
    });
  }
  if (frame.type !== "headers") {
    throw new H3Error("H3_FRAME_UNEXPECTED", `request starts with ${frame.type}`, {
      scope: "connection",
    });
  }
  const section = frame.fieldSection;
  const cached = context.headCache.lookup(section);
  if (cached !== undefined) return cached;
  return decodeRequestSection(section, streamId, context).then((fields) => {
    const head = parseRequestHead(fields);
    context.headCache.store(section, head);
    return head;
  });
}

function hasBody(head: RequestHead): boolean {
  return head.method !== "GET" && head.method !== "HEAD";
}

/**
 * The request body. The usual small call arrives in one QUIC read with its HEADERS: when the
 * bytes already read hold the whole declared body as one DATA piece, the stream starts with it
 * and is closed (no pull, no await per chunk). Anything else streams from the DATA frames.
 */
function requestBody(
  input: StreamInput,
  head: RequestHead,
  context: RequestStreamContext & { streamId: number },
): ReadableStream<Uint8Array> {
  const declared = head.contentLengthBytes;
  const first = declared !== null && declared > 0 ? input.bufferedFrame() : undefined;
  if (
    first?.type === "data" && first.bytes.length === declared &&
    declared <= context.limits.bodyBytesMax
  ) {
    const bytes = first.bytes;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  return bodyStream(input, head, { ...context, first });
}

/**
 * The request body: each pull reads the next DATA piece from the stream (so QUIC flow control
 * holds back a client whose body is not consumed), checks the size limit and Content-Length,
 * and decodes trailers (to keep the QPACK state in step) without exposing them.
 */
function bodyStream(
  input: StreamInput,
  head: RequestHead,
  context: RequestStreamContext & { streamId: number; first: Frame | undefined },
): ReadableStream<Uint8Array> {
  const limitBytes = context.limits.bodyBytesMax;
  let receivedBytes = 0;
  // A frame already taken from the input by requestBody is handled before any read.
  let pending = context.first;
  return frameBodyStream(input, async (controller) => {
    for (;;) {
      const frame = pending ?? await input.nextFrame();
      pending = undefined;
      if (frame === null) {
        checkLength(head, receivedBytes);
        controller.close();
        return;
      }
      if (frame.type === "headers") {
        await decodeRequestSection(frame.fieldSection, context.streamId, context);
        continue;
      }
      if (frame.type !== "data" || frame.bytes.length === 0) continue;
      receivedBytes += frame.bytes.length;
      if (receivedBytes > limitBytes) {
        throw new H3Error("H3_EXCESSIVE_LOAD", `body exceeds ${limitBytes} bytes`, {
          scope: "stream",
        });
      }
      checkLength(head, receivedBytes, false);
      controller.enqueue(frame.bytes);
      if (receivedBytes === head.contentLengthBytes) {
        // The declared body is complete: the app need not wait for the FIN to know it.
        // Whatever follows (FIN, trailers) is not read: the stream is cancelled after the
        // response.
        controller.close();
      }
      return;
    }
  });
}

function checkLength(head: RequestHead, receivedBytes: number, atEnd = true): void {
  const declared = head.contentLengthBytes;
  if (declared === null) return;
  if (receivedBytes > declared || (atEnd && receivedBytes !== declared)) {
    throw new H3Error(
      "H3_MESSAGE_ERROR",
      `body of ${receivedBytes} bytes, content-length said ${declared}`,
      { scope: "stream" },
    );
  }
}

async function callApp(context: RequestStreamContext, request: Request): Promise<Response> {
  try {
    return await context.fetch(request);
  } catch {
    // The app's own error handling answered nothing: a bare 500, as Deno.serve does.
    return new Response("internal error", { status: 500 });
  }
}

/** Writes HEADERS and the body as DATA frames, then FIN. */
async function writeResponse(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  response: Response,
  method: string,
): Promise<void> {
  // The response's QPACK field section, with an extra field line when given.
  const head = (extra?: [string, string]) => {
    const lines = responseFieldLines(response.status, response.headers);
    if (extra !== undefined) lines.push(extra);
    return encodeFieldSection(lines);
  };
  const body = method === "HEAD" || NULL_BODY_STATUSES.has(response.status) ? null : response.body;
  if (body === null) {
    await response.body?.cancel().catch(() => {});
    await writer.write(encodeHeadersFrame(head()));
    await writer.close();
    return;
  }
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared >= 0 && declared <= SINGLE_WRITE_BYTES_MAX) {
    // Small bodies: one copy into one buffer holding HEADERS + DATA, one write.
    const bytes = new Uint8Array(await response.arrayBuffer());
    await writer.write(headersAndData(head(), bytes));
    await writer.close();
    return;
  }
  await writeStreamedBody(writer, body.getReader(), {
    head,
    lengthKnown: !Number.isNaN(declared),
  });
}

/**
 * Streams a body whose length HEADERS did not declare. A body that turns out to be one chunk
 * (the usual case: a Response built from bytes or a string) leaves as HEADERS with its
 * content-length + one DATA frame in one write, which lets the client finish without waiting
 * for FIN; longer bodies send HEADERS with the first chunk, then a DATA frame per chunk.
 */
async function writeStreamedBody(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  options: { head: (extra?: [string, string]) => Uint8Array; lengthKnown: boolean },
): Promise<void> {
  try {
    const first = await reader.read();
    const second = first.done ? first : await reader.read();
    if (second.done) {
      const bytes = first.done ? new Uint8Array(0) : first.value;
      const extra: [string, string] | undefined = options.lengthKnown
        ? undefined
        : ["content-length", String(bytes.length)];
      await writer.write(headersAndData(options.head(extra), bytes));
    } else {
      await writer.write(headersAndData(options.head(), first.value!));
      await writer.write(encodeDataFrame(second.value));
      // Each iteration consumes one chunk of a finite response; the app's stream ends it.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.length > 0) await writer.write(encodeDataFrame(value));
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  }
  await writer.close();
}

/** A HEADERS frame around `fieldSection` and a DATA frame around `body`, in one buffer. */
function headersAndData(fieldSection: Uint8Array, body: Uint8Array): Uint8Array {
  const headersBytes = varintLength(FRAME_TYPE.HEADERS) + varintLength(fieldSection.length);
  const dataBytes = varintLength(FRAME_TYPE.DATA) + varintLength(body.length);
  const out = new Uint8Array(headersBytes + fieldSection.length + dataBytes + body.length);
  let offset = writeVarint(out, writeVarint(out, 0, FRAME_TYPE.HEADERS), fieldSection.length);
  out.set(fieldSection, offset);
  offset += fieldSection.length;
  offset = writeVarint(out, writeVarint(out, offset, FRAME_TYPE.DATA), body.length);
  out.set(body, offset);
  return out;
}
