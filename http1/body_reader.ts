/**
 * HTTP/1.1's side of a call's body: the framing (Content-Length or chunked) turned into bytes
 * pushed into the call (`CallBody`). The part already in the connection's read buffer is pushed
 * at once (the common small call needs no read and no promise); the rest of a Content-Length
 * body is read by `conn.read` straight into the call's lease (`room()` / `commit`); a chunked
 * body is decoded from the read buffer and pushed piece by piece. Sizes, the declared length,
 * the stall timeout and the deadline are the call's, not this file's.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { CallBody } from "../rpc/core.ts";
import { ChunkedDecoder, ChunkedError } from "./chunked.ts";
import { BODY_STATE, type ConnectionIo as Connection } from "./_private.ts";

/** Decoded chunked bytes pass through this before `push` (decode and push are synchronous). */
const CHUNK_SCRATCH = new Uint8Array(16 * 1024);

/**
 * Pushes the current request's body into `call` and ends it. Returns undefined when the body
 * was at hand (the call may already be answered), else a promise that settles once the body is
 * read, refused, or the connection failed (then the call is aborted).
 *
 * @example
 * ```ts
 * const reading = readBody(connection, call);
 * if (reading !== undefined) await reading;
 * ```
 */
export function readBody(connection: Connection, call: CallBody): Promise<void> | undefined {
  const head = connection.requestHead;
  if (head.chunked) return readChunked(connection, call);
  const length = head.contentLength;
  const start = connection.bufferedStart;
  const got = Math.min(connection.bufferedEnd - start, length);
  if (got > 0) {
    connection.consume(got);
    if (!call.push(connection.buffer.subarray(start, start + got))) {
      connection.bodyState = got === length ? BODY_STATE.done : BODY_STATE.broken;
      return undefined;
    }
  }
  if (got === length) {
    connection.bodyState = BODY_STATE.done;
    call.end();
    return undefined;
  }
  return readRest(connection, call, length - got);
}

/** The part of a Content-Length body not buffered yet, read into the call's lease. */
async function readRest(connection: Connection, call: CallBody, remaining: number) {
  connection.bodyState = BODY_STATE.broken; // Until the whole body is in.
  await connection.sendContinue();
  // Each read brings at least one byte, so at most `remaining` reads.
  for (let reads = 0; remaining > 0 && reads <= remaining; reads++) {
    const room = call.room();
    if (room.length === 0) {
      call.commit(0);
      return;
    }
    const n = await readInto(
      connection,
      call,
      room.length > remaining ? room.subarray(0, remaining) : room,
    );
    if (n === null || !call.commit(n)) return;
    remaining -= n;
  }
  connection.bodyState = BODY_STATE.done;
  call.end();
}

/** One socket read into `view`; null (the call aborted) when the connection ended or failed. */
async function readInto(
  connection: Connection,
  call: CallBody,
  view: Uint8Array,
): Promise<number | null> {
  connection.bodyReading = true;
  let n: number | null;
  try {
    n = await connection.conn.read(view);
  } catch (error) {
    connection.bodyReading = false;
    call.abort(error);
    return null;
  }
  connection.bodyReading = false;
  if (n === null) {
    call.abort(new Error("the client closed the connection mid-body"));
    return null;
  }
  return n;
}

/** A chunked body, decoded from the read buffer and pushed into the call. */
async function readChunked(connection: Connection, call: CallBody): Promise<void> {
  connection.bodyState = BODY_STATE.broken; // Until the final chunk is read.
  const decoder = new ChunkedDecoder(CHUNK_SCRATCH, { bounded: false });
  // Each pass consumes at least one byte of the connection or ends; the call's limit and stall
  // timeout bound how long a client can keep it going.
  for (let pass = 0; call.accepting; pass++) {
    try {
      if (!pushBuffered(connection, call, decoder)) return;
    } catch (error) {
      if (!(error instanceof ChunkedError)) throw error;
      call.fail(new RpcError("invalid_argument", error.message));
      return;
    }
    if (decoder.done) {
      connection.bodyState = BODY_STATE.done;
      call.end();
      return;
    }
    if (pass === 0) await connection.sendContinue();
    connection.bodyReading = true;
    let n: number | null;
    try {
      n = await connection.fill();
    } catch (error) {
      call.abort(error);
      return;
    } finally {
      connection.bodyReading = false;
    }
    if (n === null) {
      call.abort(new Error("the client closed the connection mid-body"));
      return;
    }
  }
}

/** Decodes every buffered byte of the body and pushes it; false once the call refused it. */
function pushBuffered(connection: Connection, call: CallBody, decoder: ChunkedDecoder): boolean {
  const buf = connection.buffer;
  // Each pass fills the scratch or consumes the buffer; bounded by the buffered bytes.
  while (!decoder.done && connection.bufferedStart < connection.bufferedEnd) {
    decoder.retarget(CHUNK_SCRATCH);
    const start = connection.bufferedStart;
    const stop = decoder.feed(buf, start, connection.bufferedEnd);
    connection.consume(stop - start);
    const n = decoder.lengthBytes;
    if (n > 0 && !call.push(CHUNK_SCRATCH.subarray(0, n))) return false;
    if (stop === start && n === 0) break;
  }
  return true;
}
