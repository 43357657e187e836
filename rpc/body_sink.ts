/**
 * The one body sink: a request body copied chunk by chunk into its pool lease, bounded by the
 * method's limit and checked against the declared length. Every transport pushes what it reads
 * (an HTTP/1.1 buffer, an HTTP/2 DATA payload, an HTTP/3 DATA frame) into one of these through
 * the call (`CallBody.push`), or reads straight into `room()` and `commit`s; no transport checks a
 * size or builds a 413 of its own.
 *
 * Checks return the error instead of throwing: pushing is the hot path, and a refused body is an
 * answer, not an exception.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { LeaseLike } from "./method.ts";

/** A declared length that is absent. */
export const LENGTH_NONE = -1;

/** The most chunks one body may arrive in (bounds what a client can make the server loop over). */
export const BODY_CHUNK_COUNT_MAX = 1 << 20;

const EMPTY = new Uint8Array(0);

/**
 * The error of a body longer than its limit (413, resource_exhausted, no Retry-After).
 *
 * @example
 * ```ts
 * throw tooLarge("worknode.create", 70_000, 65_536);
 * ```
 */
export function tooLarge(what: string, lengthBytes: number, limitBytes: number): RpcError {
  return new RpcError(
    "resource_exhausted",
    `Cannot call ${what}: request of ${lengthBytes} bytes exceeds ${limitBytes}`,
    { httpStatus: 413 },
  );
}

/** The error of a body whose length differs from its Content-Length (400). */
export function lengthMismatch(receivedBytes: number, declaredBytes: number): RpcError {
  return new RpcError(
    "invalid_argument",
    `Cannot read body: got ${receivedBytes} bytes, Content-Length said ${declaredBytes}`,
  );
}

/**
 * A body being received into a lease.
 *
 * @example
 * ```ts
 * const body = new LeaseBody(lease, { limitBytes: 4096, declaredBytes: 5, what: "system.echo" });
 * body.push(new TextEncoder().encode("hello")); // null: accepted
 * body.finish(); // null: complete
 * body.bytes(); // the 5 bytes, a view of the lease
 * ```
 */
export class LeaseBody {
  readonly #lease: LeaseLike | null;
  readonly #limitBytes: number;
  readonly #declaredBytes: number;
  readonly #what: string;
  #lengthBytes = 0;
  #chunkCount = 0;

  constructor(
    lease: LeaseLike | null,
    options: { readonly limitBytes: number; readonly declaredBytes: number; readonly what: string },
  ) {
    const { limitBytes, declaredBytes } = options;
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new RangeError(`Cannot receive body: limit ${limitBytes} is not an integer >= 0`);
    }
    const roomBytes = lease === null ? 0 : lease.bytes.length;
    if (Math.min(limitBytes, declaredBytes < 0 ? limitBytes : declaredBytes) > roomBytes) {
      throw new RangeError(
        `Cannot receive body: limit ${limitBytes} exceeds the lease's ${roomBytes} bytes`,
      );
    }
    this.#lease = lease;
    this.#limitBytes = limitBytes;
    this.#declaredBytes = declaredBytes;
    this.#what = options.what;
  }

  /** Bytes received so far. */
  get lengthBytes(): number {
    return this.#lengthBytes;
  }

  /** The declared length, or LENGTH_NONE. */
  get declaredBytes(): number {
    return this.#declaredBytes;
  }

  /** How many more bytes the body may take (the declared rest, or up to the limit). */
  get wantBytes(): number {
    const end = this.#declaredBytes >= 0 ? this.#declaredBytes : this.#limitBytes;
    return end - this.#lengthBytes;
  }

  /** Whether a declared body has all its bytes. */
  get complete(): boolean {
    return this.#declaredBytes >= 0 && this.#lengthBytes === this.#declaredBytes;
  }

  /** The error that `lengthBytes + n` would be, or null when the bytes fit. */
  #check(n: number): RpcError | null {
    const end = this.#lengthBytes + n;
    if (this.#declaredBytes >= 0 && end > this.#declaredBytes) {
      return lengthMismatch(end, this.#declaredBytes);
    }
    if (end > this.#limitBytes) return tooLarge(this.#what, end, this.#limitBytes);
    if (++this.#chunkCount > BODY_CHUNK_COUNT_MAX) {
      return new RpcError(
        "resource_exhausted",
        `Cannot read body: more than ${BODY_CHUNK_COUNT_MAX} chunks`,
        { httpStatus: 413 },
      );
    }
    return null;
  }

  /** Copies `chunk` into the lease; the error (413 / 400) when it does not fit. */
  push(chunk: Uint8Array): RpcError | null {
    const error = this.#check(chunk.length);
    if (error !== null) return error;
    if (chunk.length > 0) this.#lease!.bytes.set(chunk, this.#lengthBytes);
    this.#lengthBytes += chunk.length;
    return null;
  }

  /** The lease's room for the rest of the body (at most `wantBytes`), to read into directly. */
  room(): Uint8Array {
    if (this.#lease === null) return EMPTY;
    return this.#lease.bytes.subarray(this.#lengthBytes, this.#lengthBytes + this.wantBytes);
  }

  /** Counts `n` bytes a transport read into `room()`; the error when they break a limit. */
  commit(n: number): RpcError | null {
    if (n > this.wantBytes) throw new RangeError(`Cannot commit ${n} bytes: room is smaller`);
    const error = this.#check(n);
    if (error !== null) return error;
    this.#lengthBytes += n;
    return null;
  }

  /** At the end of the body: the error when it is shorter than declared, else null. */
  finish(): RpcError | null {
    if (this.#declaredBytes >= 0 && this.#lengthBytes !== this.#declaredBytes) {
      return lengthMismatch(this.#lengthBytes, this.#declaredBytes);
    }
    return null;
  }

  /** The received bytes: a view of the lease, valid until the lease is released. */
  bytes(): Uint8Array {
    if (this.#lease === null) return EMPTY;
    return this.#lease.bytes.subarray(0, this.#lengthBytes);
  }
}
