/**
 * The streams of one connection: the open ones by ID, the highest ID the peer opened, and how
 * the most recent closed streams were closed — which decides the answer to a late frame
 * (RFC 9113 §5.1): after our RST_STREAM late frames are ignored, after the peer's RST_STREAM
 * they are a stream error STREAM_CLOSED, after both sides ended a connection error
 * STREAM_CLOSED, and a lower ID never opened (or forgotten) is a PROTOCOL_ERROR (§5.1.1).
 *
 * The closed IDs are remembered in a ring of `CLOSED_STREAMS_REMEMBERED` entries, so the table
 * is bounded by the concurrency limit plus that ring.
 *
 * @example
 * ```ts
 * const table = new StreamTable();
 * table.open(stream);
 * table.close(stream, CLOSED.ENDED);
 * table.closedHow(stream.id); // CLOSED.ENDED
 * ```
 * @module
 */

import { CLOSED_STREAMS_REMEMBERED } from "./limits.ts";
import type { H2Stream } from "./stream.ts";

/** How a closed stream was closed; UNKNOWN: not remembered (never opened, or long ago). */
export const CLOSED = { UNKNOWN: 0, OUR_RESET: 1, PEER_RESET: 2, ENDED: 3 } as const;

/**
 * Open streams and recently closed IDs.
 *
 * @example
 * ```ts
 * table.get(3); // the open stream 3, or undefined
 * ```
 */
export class StreamTable {
  readonly #open = new Map<number, H2Stream>();
  /** The highest stream ID the peer opened (or tried to: refused streams count). */
  lastPeerStreamId = 0;
  /** Streams the peer opened on this connection, refused ones included. */
  openedCount = 0;
  /** Sum of the open streams' head sizes (RFC 9113 §6.5.2). */
  heldHeadBytes = 0;
  readonly #closed = new Map<number, number>();
  readonly #ring = new Uint32Array(CLOSED_STREAMS_REMEMBERED);
  #ringAt = 0;

  /** Open (and half-closed) streams now. */
  get size(): number {
    return this.#open.size;
  }

  get(id: number): H2Stream | undefined {
    return this.#open.get(id);
  }

  /** Adds a new open stream. */
  open(stream: H2Stream): void {
    this.#open.set(stream.id, stream);
    this.heldHeadBytes += stream.headBytes;
  }

  /** Removes an open stream, remembering how it closed. */
  close(stream: H2Stream, how: number): void {
    if (stream.closed) return;
    stream.closed = true;
    this.#open.delete(stream.id);
    this.heldHeadBytes -= stream.headBytes;
    this.remember(stream.id, how);
  }

  /** Remembers a stream closed without being opened (refused, malformed, answered 431). */
  remember(id: number, how: number): void {
    const evicted = this.#ring[this.#ringAt];
    if (evicted !== 0) this.#closed.delete(evicted);
    this.#ring[this.#ringAt] = id;
    this.#ringAt = (this.#ringAt + 1) % this.#ring.length;
    this.#closed.set(id, how);
  }

  /** How a stream that is not open was closed (CLOSED.*). */
  closedHow(id: number): number {
    return this.#closed.get(id) ?? CLOSED.UNKNOWN;
  }

  /** The open streams (a copy: callers close streams while iterating). */
  streams(): H2Stream[] {
    return [...this.#open.values()];
  }

  /** Calls `fn` for every open stream (which must not close streams). */
  forEach(fn: (stream: H2Stream) => void): void {
    for (const stream of this.#open.values()) fn(stream);
  }
}
