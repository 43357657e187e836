/**
 * Everything but the RPC fast path goes to the Hono app: health, readiness, metrics, the
 * dashboard, `POST /rpc` batches, %-escaped paths, other methods. This file turns a parsed head
 * into a `Request` (its body a bounded stream reading from the connection, or the bytes when
 * already buffered) and writes the app's `Response` back (content-length when the body is small
 * or its length is declared, else chunked; no body for HEAD, 1xx, 204 and 304).
 *
 * @module
 */

import { ChunkedDecoder, ChunkedError } from "./chunked.ts";
import type { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import { latin1, METHOD_CODES } from "./head.ts";
import {
  HEAD_CLOSE,
  HEAD_KEEP_ALIVE,
  HEAD_PLAIN,
  type HeadOptions,
  latin1Bytes,
} from "./response.ts";

/** A response body up to this size is collected and sent with a content-length in one write. */
export const SMALL_BODY_BYTES_MAX = 64 * 1024;

/** The most chunks read from one response body (bounds the loop). */
export const RESPONSE_CHUNKS_MAX = 1 << 20;

/** The largest chunk one request-body pull hands the app. */
const PULL_BYTES_MAX = 16 * 1024;

/** Bytes allowed in a Host value (a host name, IPv4/IPv6 literal and port). */
const HOST_BYTE = /^[A-Za-z0-9.\-:\[\]_]*$/;

/** The app's answer to a request it cannot build (bad Host, bad target). */
class BadRequest extends Error {}

/**
 * Serves the current request of `connection` through the app; resolves whether the connection
 * stays open.
 *
 * @example
 * ```ts
 * const keep = await serveFetch(connection, ctx);
 * ```
 */
export async function serveFetch(connection: Connection, ctx: ServerContext): Promise<boolean> {
  const head = connection.requestHead;
  let request: Request;
  try {
    request = buildRequest(connection, ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await connection.refuse(400, `Bad request: ${message}`);
    return false;
  }
  let response: Response;
  try {
    response = await ctx.fetch(request);
  } catch (error) {
    console.error("http1: the app failed:", error);
    response = new Response("Internal error", { status: 500 });
  }
  let keep = head.keepAlive && connection.bodyFinished();
  const noBody = head.methodCode === METHOD_CODES.head || response.status < 200 ||
    response.status === 204 || response.status === 304;
  keep = await writeResponse(connection, response, { keep, noBody, ctx });
  return keep;
}

/** The Request for the current head. */
function buildRequest(connection: Connection, ctx: ServerContext): Request {
  const head = connection.requestHead;
  const buf = connection.buffer;
  const host = head.host ?? ctx.authority;
  if (!HOST_BYTE.test(host) || host.length === 0) throw new BadRequest("bad Host");
  const url = `http://${host}${latin1(buf, head.targetStart, head.targetEnd)}`;
  const headers = new Headers();
  for (let i = 0; i < head.headerCount; i++) {
    const f = i * 4;
    headers.append(
      latin1(buf, head.fields[f], head.fields[f + 1]),
      latin1(buf, head.fields[f + 2], head.fields[f + 3]),
    );
  }
  const method = latin1(buf, head.methodStart, head.methodEnd);
  const mayHaveBody = head.methodCode !== METHOD_CODES.get && head.methodCode !== METHOD_CODES.head;
  let body: BodyInit | null = null;
  if (mayHaveBody && connection.bodyUnread) {
    const length = head.contentLength;
    const start = connection.bufferedStart;
    if (!head.chunked && connection.bufferedEnd - start >= length) {
      body = buf.slice(start, start + length);
      connection.consume(length);
      connection.bodyRead(true);
    } else {
      body = bodyStream(connection, ctx.limits.fetchBodyBytesMax);
    }
  }
  return new Request(url, { method, headers, body });
}

/** A request body read from the connection on demand, bounded by `limitBytes`. */
function bodyStream(connection: Connection, limitBytes: number): ReadableStream<Uint8Array> {
  const head = connection.requestHead;
  let remaining = head.contentLength;
  const decoder = head.chunked ? new ChunkedDecoder(new Uint8Array(0), { bounded: false }) : null;
  let total = 0;
  // Until the stream reports the end, the body counts as broken: a response written before it
  // was read to the end closes the connection.
  connection.bodyRead(false);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Each pass reads at least one byte or ends the stream.
        for (let pass = 0; pass <= limitBytes + PULL_BYTES_MAX; pass++) {
          if (connection.bufferedEnd === connection.bufferedStart) {
            // The app asked for the body: now is the time for an expected 100 Continue.
            await connection.sendContinue();
            if ((await connection.fill()) === null) {
              throw new Error("the client closed the connection mid-body");
            }
          }
          const chunk = decoder === null ? takeLength(connection, remaining) : takeChunked(
            connection,
            decoder,
          );
          remaining -= decoder === null ? chunk.length : 0;
          total += chunk.length;
          if (total > limitBytes) throw new RangeError(`body over ${limitBytes} bytes`);
          const done = decoder === null ? remaining === 0 : decoder.done;
          if (chunk.length > 0) controller.enqueue(chunk);
          if (done) {
            connection.bodyRead(true);
            controller.close();
          }
          if (done || chunk.length > 0) return;
        }
      } catch (error) {
        connection.bodyRead(false);
        const message = error instanceof ChunkedError || error instanceof Error
          ? error.message
          : String(error);
        controller.error(new Error(`Cannot read request body: ${message}`));
      }
    },
    cancel() {
      // The app stopped reading: the rest of the body is unread, the connection closes.
      connection.bodyRead(false);
    },
  }, { highWaterMark: 0 });
}

/** Up to `remaining` buffered body bytes, copied out (the app may keep them). */
function takeLength(connection: Connection, remaining: number): Uint8Array {
  const start = connection.bufferedStart;
  const n = Math.min(remaining, connection.bufferedEnd - start, PULL_BYTES_MAX);
  connection.consume(n);
  return connection.buffer.slice(start, start + n);
}

/** Decodes buffered chunked bytes into a fresh chunk for the app. */
function takeChunked(connection: Connection, decoder: ChunkedDecoder): Uint8Array {
  const start = connection.bufferedStart;
  const out = new Uint8Array(Math.min(PULL_BYTES_MAX, connection.bufferedEnd - start));
  decoder.retarget(out);
  const stop = decoder.feed(connection.buffer, start, connection.bufferedEnd);
  connection.consume(stop - start);
  return out.subarray(0, decoder.lengthBytes);
}

/** How `writeResponse` frames the answer. */
interface WriteOptions {
  readonly keep: boolean;
  readonly noBody: boolean;
  readonly ctx: ServerContext;
}

/** The response's headers minus the hop-by-hop and framing ones, and its declared length. */
function headersOf(response: Response): { pairs: [string, string][]; declared: string | null } {
  const pairs: [string, string][] = [];
  let declared: string | null = null;
  for (const [name, value] of response.headers) {
    if (name === "content-length") declared = value;
    else if (name !== "transfer-encoding" && name !== "connection" && name !== "keep-alive") {
      pairs.push([name, value]);
    }
  }
  return { pairs, declared };
}

/** Writes the app's response; resolves whether the connection may stay open. */
async function writeResponse(
  connection: Connection,
  response: Response,
  options: WriteOptions,
): Promise<boolean> {
  const { pairs, declared } = headersOf(response);
  const encoder = options.ctx.encoder;
  const http10 = connection.requestHead.versionMinor === 0;
  const mode = (keep: boolean): HeadOptions =>
    !keep ? HEAD_CLOSE : http10 ? HEAD_KEEP_ALIVE : HEAD_PLAIN;
  if (options.noBody) {
    await response.body?.cancel().catch(() => {});
    if (declared !== null && response.status !== 204) pairs.push(["content-length", declared]);
    await connection.write(encoder.encodeHead(response.status, pairs, mode(options.keep)));
    return options.keep;
  }
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = reader === undefined;
  while (!done && total <= SMALL_BODY_BYTES_MAX && chunks.length < RESPONSE_CHUNKS_MAX) {
    const next = await reader!.read();
    if (next.done) done = true;
    else {
      chunks.push(next.value);
      total += next.value.length;
    }
  }
  if (done) {
    pairs.push(["content-length", String(total)]);
    const headBytes = encoder.encodeHead(response.status, pairs, mode(options.keep));
    await connection.write(concat([headBytes, ...chunks], headBytes.length + total));
    return options.keep;
  }
  const status = response.status;
  return await streamRest(connection, reader!, { status, pairs, declared, chunks, mode, options });
}

/** What `streamRest` continues from. */
interface StreamState {
  readonly status: number;
  readonly pairs: [string, string][];
  readonly declared: string | null;
  readonly chunks: Uint8Array[];
  readonly mode: (keep: boolean) => HeadOptions;
  readonly options: WriteOptions;
}

/** A large or endless body: declared length, chunked (HTTP/1.1), or until close (1.0). */
async function streamRest(
  connection: Connection,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  state: StreamState,
): Promise<boolean> {
  const { pairs, declared, chunks, mode, options } = state;
  const chunked = declared === null && connection.requestHead.versionMinor === 1;
  let keep = options.keep && (declared !== null || chunked);
  if (declared !== null) pairs.push(["content-length", declared]);
  if (chunked) pairs.push(["transfer-encoding", "chunked"]);
  const frame = (bytes: Uint8Array) =>
    chunked
      ? concat([
        latin1Bytes(`${bytes.length.toString(16)}\r\n`),
        bytes,
        latin1Bytes("\r\n"),
      ], bytes.length + 16)
      : bytes;
  let sent = 0;
  try {
    await connection.write(options.ctx.encoder.encodeHead(state.status, pairs, mode(keep)));
    for (const chunk of chunks) {
      await connection.write(frame(chunk));
      sent += chunk.length;
    }
    for (let n = chunks.length; n < RESPONSE_CHUNKS_MAX; n++) {
      const next = await reader.read();
      if (next.done) break;
      if (next.value.length === 0) continue;
      await connection.write(frame(next.value));
      sent += next.value.length;
    }
    if (chunked) await connection.write(latin1Bytes("0\r\n\r\n"));
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    return false;
  }
  // A body shorter or longer than it declared leaves the framing broken: close.
  if (declared !== null && String(sent) !== declared) keep = false;
  return keep;
}

/** Joins byte arrays into one of `length` bytes. */
function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out.subarray(0, p);
}
