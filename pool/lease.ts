/**
 * A lease on one pool block: the only way TypeScript holds pool memory.
 *
 * @module
 */

/** What a lease calls back into when released; implemented by Pool. */
export interface LeaseOwner {
  /** Returns the block to the pool; called exactly once per lease. */
  releaseHandle(handle: number): void;
}

/** Thrown by a second `release()` or by reading `bytes` after release. */
export class LeaseReleasedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseReleasedError";
  }
}

/**
 * One pool block held by one owner until `release()`. Made by `Pool.tryAcquire`, never directly.
 *
 * INVARIANT (docs/design.md, invariant 4): `bytes` views pool memory. Never pass `bytes`, its `buffer`, or a
 * subarray of it to anything that may detach or transfer it: a ReadableStream byte-stream
 * `enqueue`, a `Response`/`Request` body, `postMessage`, `structuredClone(..., {transfer})`,
 * `ArrayBuffer.prototype.transfer`. Detaching it would detach the whole pool's view. Copy bytes
 * out instead (`bytes.slice(0, n)`), and do not keep `bytes` (or views of it) after release: the
 * block then belongs to the next lease.
 *
 * @example
 * ```ts
 * const lease = pool.tryAcquire(1200);
 * if (lease === null) return unavailable();
 * try {
 *   lease.bytes.set(payload);
 * } finally {
 *   lease.release();
 * }
 * ```
 */
export class Lease {
  /** The libpool handle: `(classIndex << 24) | blockIndex`. */
  readonly handle: number;
  /** The block size: `bytes.length`, at least the size asked for. */
  readonly capacityBytes: number;
  #bytes: Uint8Array | null;
  #owner: LeaseOwner;

  /** @internal Called by Pool only, with a live handle and the view of its block. */
  constructor(owner: LeaseOwner, handle: number, bytes: Uint8Array) {
    this.#owner = owner;
    this.handle = handle;
    this.capacityBytes = bytes.length;
    this.#bytes = bytes;
  }

  /** The block's bytes; throws {@link LeaseReleasedError} once the lease is released. */
  get bytes(): Uint8Array {
    const bytes = this.#bytes;
    if (bytes === null) {
      throw new LeaseReleasedError(
        `Cannot read bytes: lease ${this.handle} was already released`,
      );
    }
    return bytes;
  }

  /** True once `release()` has run. */
  get released(): boolean {
    return this.#bytes === null;
  }

  /**
   * Returns the block to the pool. A second call throws {@link LeaseReleasedError} and does not
   * touch the pool, so a double release can never free another owner's block.
   */
  release(): void {
    if (this.#bytes === null) {
      throw new LeaseReleasedError(`Cannot release lease ${this.handle}: already released`);
    }
    this.#bytes = null;
    this.#owner.releaseHandle(this.handle);
  }
}
