/**
 * One request stream (RFC 9113 §5.1): its receive and send windows, where its request body is,
 * and its response in progress. The stream is the `H2ServerStream` a handler answers on; the
 * work is done by its host (the connection's sender and dispatcher), so a stream is only state.
 *
 * The response in progress is one "data" range (a whole body, or one streamed chunk) copied out
 * from the caller's memory as windows allow, with a callback when its last byte was copied, and
 * whether END_STREAM follows it. Nothing is buffered by the stream itself.
 *
 * @module
 */

import type { H2ServerStream, H2StreamHandler } from "./handler.ts";

/** What a stream's methods are forwarded to. */
export interface StreamHost {
  respond(
    stream: H2Stream,
    status: number,
    fields: readonly (readonly [string, string])[],
    body: Uint8Array | null,
    onDone: ((error: Error | null) => void) | null,
  ): void;
  respondHead(
    stream: H2Stream,
    status: number,
    fields: readonly (readonly [string, string])[],
  ): void;
  write(stream: H2Stream, chunk: Uint8Array): Promise<void>;
  end(stream: H2Stream): void;
  reset(stream: H2Stream, code: string): void;
  grant(stream: H2Stream, bytes: number): void;
}

/** Where a stream's response is. */
export const RESPONSE = {
  /** Nothing sent yet. */
  NONE: 0,
  /** HEADERS written (or queued); data may follow. */
  STARTED: 1,
  /** END_STREAM written: the response is complete. */
  COMPLETE: 2,
} as const;

/**
 * The state of one stream.
 *
 * @example
 * ```ts
 * const stream = new H2Stream(1, host, 65535, 16384);
 * stream.respond(200, [], new Uint8Array([1]));
 * ```
 */
export class H2Stream implements H2ServerStream {
  readonly id: number;
  readonly #host: StreamHost;
  /** The handler's callbacks (set right after `onRequest` returns). */
  handler: H2StreamHandler | null = null;
  /** RFC 9113 §6.5.2 size of the request head this stream holds (accounting). */
  headBytes = 0;
  /** Removed from the connection's table: every later call is a no-op or fails. */
  closed = false;

  // --- Receive side. ---
  /** Bytes the peer may still send on this stream (our window). */
  recvWindow: number;
  /** The declared content-length, -1 when absent. */
  contentLengthBytes = -1;
  /** DATA payload bytes received so far. */
  receivedBytes = 0;
  /** The peer ended its side (END_STREAM received). */
  remoteEnded = false;
  /** Grants not yet sent as a WINDOW_UPDATE. */
  pendingGrantBytes = 0;

  // --- Send side. ---
  /** Bytes we may still send on this stream (the peer's window). */
  sendWindow: number;
  /** RESPONSE.NONE / STARTED / COMPLETE. */
  response: number = RESPONSE.NONE;
  /** HEADERS not yet written (for lack of output room): its encoded block. */
  headPending = false;
  pendingBlock: Uint8Array | null = null;
  /** The range being copied out (a body or a chunk), null when none. */
  data: Uint8Array | null = null;
  dataOffset = 0;
  /** Called once `data`'s last byte was copied out, or with the error that stopped it. */
  dataDone: ((error: Error | null) => void) | null = null;
  /** END_STREAM goes out after `data` (or at once when there is none). */
  endPending = false;
  /** In the sender's queue of streams with output to write. */
  queued = false;
  /** When the response last found the peer's window closed (clock ms), 0 when it is not. */
  blockedSinceMs = 0;

  constructor(id: number, host: StreamHost, sendWindow: number, recvWindow: number) {
    this.id = id;
    this.#host = host;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  grant(bytes: number): void {
    this.#host.grant(this, bytes);
  }

  respond(
    status: number,
    fields: readonly (readonly [string, string])[],
    body: Uint8Array | null,
    onDone?: (error: Error | null) => void,
  ): void {
    this.#host.respond(this, status, fields, body, onDone ?? null);
  }

  respondHead(status: number, fields: readonly (readonly [string, string])[]): void {
    this.#host.respondHead(this, status, fields);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#host.write(this, chunk);
  }

  end(): void {
    this.#host.end(this);
  }

  reset(code: string): void {
    this.#host.reset(this, code);
  }

  /** Whether the response has output waiting (HEADERS, data or END_STREAM). */
  get hasOutput(): boolean {
    return this.headPending || this.data !== null ||
      (this.endPending && this.response !== RESPONSE.COMPLETE);
  }

  /**
   * Ends the response's pending output with `error` (stream reset or connection lost): the
   * data callback is called once, nothing more will be written.
   */
  failOutput(error: Error): void {
    const done = this.dataDone;
    this.data = null;
    this.dataDone = null;
    this.headPending = false;
    this.pendingBlock = null;
    this.endPending = false;
    if (done !== null) done(error);
  }
}
