/**
 * Helpers shared inside `http1/`: the write loop, and the side of a connection that the body
 * reader and the fetch bridge use (an interface, so neither imports `connection.ts` back).
 *
 * @module
 */

import type { RpcError } from "../errors/rpc_error.ts";
import type { RequestHead } from "./head.ts";

/** Where the current request's body is. */
export const BODY_STATE = { none: 0, unread: 1, done: 2, broken: 3 } as const;

/** What the body reader and the fetch bridge use of a connection (`Connection` implements it). */
export interface ConnectionIo {
  /** The parsed head of the current request. */
  readonly requestHead: RequestHead;
  /** The read buffer and its unconsumed bytes `[bufferedStart, bufferedEnd)`. */
  readonly buffer: Uint8Array;
  readonly bufferedStart: number;
  readonly bufferedEnd: number;
  /** The socket. */
  readonly conn: Deno.Conn;
  /** One of BODY_STATE. */
  bodyState: number;
  /** A body read is in flight (an answer arriving meanwhile is written out of band). */
  bodyReading: boolean;
  /** Marks `n` buffered bytes as consumed. */
  consume(n: number): void;
  /** Reads more bytes into the buffer; null at the end of the stream. */
  fill(): Promise<number | null>;
  /** `100 Continue` when the client asked for it and sent nothing of the body yet. */
  sendContinue(): Promise<void>;
  /** Whether the body is behind us (skipped when wholly buffered); false: close after. */
  bodyFinished(): boolean;
  /** Writes bytes under the write timeout. */
  write(bytes: Uint8Array): Promise<void>;
  /** Answers `error` with the core's error body and closes. */
  refuse(error: RpcError): Promise<void>;
}

/** The most `conn.write` calls one buffer may take (each writes at least one byte). */
export const WRITE_CALLS_MAX = 1 << 24;

/**
 * Writes all of `bytes`, looping over partial writes (`conn.write` returns the count written).
 * The write op borrows the view and never detaches it, so a lease view may be written directly.
 *
 * @example
 * ```ts
 * await writeAll(conn, new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * ```
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  for (let calls = 0; offset < bytes.length; calls++) {
    if (calls === WRITE_CALLS_MAX) {
      throw new Error(`Cannot write: ${WRITE_CALLS_MAX} partial writes`);
    }
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
