/**
 * Every request outside the /rpc namespace goes to the Hono app: health, readiness, metrics, the
 * dashboard. This file turns a parsed head into a `Request` and writes the app's `Response` back
 * (content-length when the body is small or its length is declared, else chunked; no body for
 * HEAD, 1xx, 204 and 304).
 *
 * The app's routes take no request body (every body-carrying route is the call core's), so none
 * is handed over: a body already buffered is skipped after the answer, any other makes the
 * connection close after it (its bytes are never read into memory).
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { ConnectionIo as Connection } from "./_private.ts";
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

/** Bytes allowed in a Host value (a host name, IPv4/IPv6 literal and port). */
const HOST_BYTE = /^[A-Za-z0-9.\-:\[\]_]*$/;

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
  const host = head.host ?? ctx.authority;
  if (!HOST_BYTE.test(host) || host.length === 0) {
    await connection.refuse(new RpcError("invalid_argument", "Bad request: bad Host"));
    return false;
  }
  let request: Request;
  try {
    request = buildRequest(connection, host);
  } catch (error) {
    // A method or target the Request constructor refuses (CONNECT, TRACE, a bad URL).
    const message = error instanceof Error ? error.message : String(error);
    await connection.refuse(new RpcError("invalid_argument", `Bad request: ${message}`));
    return false;
  }
  let response: Response;
  try {
    response = await ctx.fetch(request);
  } catch (error) {
    console.error("http1: the app failed:", error);
    response = new Response("Internal error", { status: 500 });
  }
  const keep = head.keepAlive && connection.bodyFinished();
  const noBody = head.methodCode === METHOD_CODES.head || response.status < 200 ||
    response.status === 204 || response.status === 304;
  return await writeResponse(connection, response, { keep, noBody, ctx });
}

/** The Request for the current head (no body: see the module doc). */
function buildRequest(connection: Connection, host: string): Request {
  const head = connection.requestHead;
  const buf = connection.buffer;
  const url = `http://${host}${latin1(buf, head.targetStart, head.targetEnd)}`;
  const headers = new Headers();
  for (let i = 0; i < head.headerCount; i++) {
    const f = i * 4;
    headers.append(
      latin1(buf, head.fields[f], head.fields[f + 1]),
      latin1(buf, head.fields[f + 2], head.fields[f + 3]),
    );
  }
  return new Request(url, { method: latin1(buf, head.methodStart, head.methodEnd), headers });
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
