/**
 * The read and output buffers of one server's connections, reused from one connection to the
 * next. A connection that closes gives its buffers back instead of leaving them as garbage: under
 * churn (clients refused with `connection: close`, ~hundreds of new connections a second) fresh
 * buffers per connection were a steady stream of memory outside the V8 heap waiting for a GC,
 * which showed as RSS growth (measured: external memory +13-28 MiB under 256 concurrent uploads).
 * The free list is bounded by the connection cap, so at most `connectionCountMax` pairs exist.
 *
 * @module
 */

/** The shared drain buffer's size: a few socket reads' worth of a refused upload. */
const DRAIN_BYTES = 64 * 1024;

/** A connection's two buffers. */
export interface BufferPair {
  readonly read: Uint8Array;
  readonly out: Uint8Array;
}

/**
 * A bounded free list of buffer pairs.
 *
 * @example
 * ```ts
 * const buffers = new ConnectionBuffers({ readBytes: 16384, outBytes: 4096, spareCountMax: 1024 });
 * const pair = buffers.take();
 * buffers.give(pair);
 * ```
 */
export class ConnectionBuffers {
  /**
   * Where lingering connections read the bytes they drop (one per server). Several may read
   * into it at once: nothing ever reads from it, so what the reads leave there does not matter,
   * and one buffer larger than a connection's read buffer takes a refused upload in fewer reads.
   */
  readonly drain: Uint8Array = new Uint8Array(DRAIN_BYTES);
  readonly #readBytes: number;
  readonly #outBytes: number;
  readonly #spareCountMax: number;
  readonly #spare: BufferPair[] = [];

  constructor(options: { readBytes: number; outBytes: number; spareCountMax: number }) {
    this.#readBytes = options.readBytes;
    this.#outBytes = options.outBytes;
    this.#spareCountMax = options.spareCountMax;
  }

  /** Spare pairs now. */
  get spareCount(): number {
    return this.#spare.length;
  }

  /** A pair: a spare one, or new ones. */
  take(): BufferPair {
    return this.#spare.pop() ??
      { read: new Uint8Array(this.#readBytes), out: new Uint8Array(this.#outBytes) };
  }

  /**
   * Takes a pair back. Call only once nothing reads into or writes from it (the socket is closed
   * and its pending operations have settled).
   */
  give(pair: BufferPair): void {
    if (this.#spare.length < this.#spareCountMax) this.#spare.push(pair);
  }
}
