/**
 * A bounded decoder of the chunked transfer coding (RFC 9112 section 7.1) for request bodies:
 * chunk sizes of at most CHUNK_SIZE_DIGITS_MAX hex digits, chunk extensions and trailer lines
 * of bounded length (read and dropped), and the decoded bytes written into a caller's view (a
 * pool lease) that bounds the body's length.
 *
 * It is a state machine fed whatever bytes arrived, so a body split anywhere (inside a size
 * line, a CRLF or the trailers) decodes the same.
 *
 * @module
 */

/** The most hex digits of a chunk size (8: up to 4 GiB - 1, far above any lease). */
export const CHUNK_SIZE_DIGITS_MAX = 8;

/** The longest chunk extension (everything after the size up to its CRLF), in bytes. */
export const CHUNK_EXTENSION_BYTES_MAX = 256;

/** The most bytes of trailer section (all trailer lines together, dropped). */
export const TRAILER_BYTES_MAX = 4096;

/** Why a chunked body was refused. `status` 400: malformed; 413: longer than the target. */
export class ChunkedError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(`Cannot decode chunked body: ${message}`);
    this.name = "ChunkedError";
    this.status = status;
  }
}

const STATE = {
  size: 0,
  extension: 1,
  sizeLf: 2,
  data: 3,
  dataCr: 4,
  dataLf: 5,
  trailerStart: 6,
  trailer: 7,
  trailerLf: 8,
  finalLf: 9,
  done: 10,
} as const;

/** The value of a hex digit byte, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Decodes one chunked body. Feed it the bytes as they arrive; it writes the data into `target`
 * and stops right after the body's final CRLF (`done`), leaving any following bytes (the next
 * pipelined request) unread.
 *
 * @example
 * ```ts
 * const decoder = new ChunkedDecoder(new Uint8Array(16));
 * const src = new TextEncoder().encode("3\r\nabc\r\n0\r\n\r\n");
 * decoder.feed(src, 0, src.length); // 15: every byte consumed
 * decoder.done; // true
 * decoder.lengthBytes; // 3
 * ```
 */
export class ChunkedDecoder {
  #target: Uint8Array;
  readonly #bounded: boolean;
  #state: number = STATE.size;
  #digits = 0;
  #remaining = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  #length = 0;

  /**
   * `target` receives the decoded bytes. Bounded (the default): a body longer than `target` is
   * a ChunkedError 413. Streaming (`bounded: false`): `feed` stops when `target` is full, and
   * `retarget` hands it the next output view.
   */
  constructor(target: Uint8Array, options: { readonly bounded?: boolean } = {}) {
    this.#target = target;
    this.#bounded = options.bounded ?? true;
  }

  /** Streaming mode: decoded bytes go to `target` from its start on (`lengthBytes` restarts). */
  retarget(target: Uint8Array): void {
    this.#target = target;
    this.#length = 0;
  }

  /** Decoded bytes written so far. */
  get lengthBytes(): number {
    return this.#length;
  }

  /** Whether the whole body (last chunk, trailers, final CRLF) was read. */
  get done(): boolean {
    return this.#state === STATE.done;
  }

  /**
   * Decodes `src[start, end)` and returns the index where it stopped: `end`, the first byte
   * after the body once `done`, or (streaming) where the output view filled up. Throws ChunkedError on malformed input or overflow.
   */
  feed(src: Uint8Array, start: number, end: number): number {
    let i = start;
    while (i < end && this.#state !== STATE.done) {
      if (this.#state === STATE.data) {
        const n = Math.min(this.#remaining, end - i, this.#target.length - this.#length);
        if (n === 0) return i; // Streaming: the output view is full.
        this.#target.set(src.subarray(i, i + n), this.#length);
        this.#length += n;
        this.#remaining -= n;
        i += n;
        if (this.#remaining === 0) this.#state = STATE.dataCr;
        continue;
      }
      this.#step(src[i++]);
    }
    return i;
  }

  /** One byte of framing (everything but chunk data). */
  #step(c: number): void {
    switch (this.#state) {
      case STATE.size:
        return this.#sizeByte(c);
      case STATE.extension:
        if (c === 13) this.#state = STATE.sizeLf;
        else if (c < 0x20 && c !== 0x09 || c === 0x7f) throw new ChunkedError(400, "bad extension");
        else if (++this.#lineBytes > CHUNK_EXTENSION_BYTES_MAX) {
          throw new ChunkedError(400, `chunk extension over ${CHUNK_EXTENSION_BYTES_MAX} bytes`);
        }
        return;
      case STATE.sizeLf:
        if (c !== 10) throw new ChunkedError(400, "CR without LF after a chunk size");
        return this.#startChunk();
      case STATE.dataCr:
        if (c !== 13) throw new ChunkedError(400, "chunk data longer than its size");
        this.#state = STATE.dataLf;
        return;
      case STATE.dataLf:
        if (c !== 10) throw new ChunkedError(400, "CR without LF after chunk data");
        this.#state = STATE.size;
        this.#digits = 0;
        this.#remaining = 0;
        return;
      default:
        return this.#trailerByte(c);
    }
  }

  #sizeByte(c: number): void {
    const v = hexValue(c);
    if (v >= 0) {
      if (++this.#digits > CHUNK_SIZE_DIGITS_MAX) {
        throw new ChunkedError(400, `chunk size over ${CHUNK_SIZE_DIGITS_MAX} hex digits`);
      }
      this.#remaining = this.#remaining * 16 + v;
      return;
    }
    if (this.#digits === 0) throw new ChunkedError(400, "chunk size is not hex");
    if (c === 13) this.#state = STATE.sizeLf;
    else if (c === 0x3b || c === 0x20 || c === 0x09) {
      this.#state = STATE.extension;
      this.#lineBytes = 1;
    } else throw new ChunkedError(400, "bad byte after a chunk size");
  }

  /** After a size line: data, or the trailers after the last (zero) chunk. */
  #startChunk(): void {
    if (this.#remaining === 0) {
      this.#state = STATE.trailerStart;
      return;
    }
    if (this.#bounded && this.#length + this.#remaining > this.#target.length) {
      throw new ChunkedError(
        413,
        `length ${this.#length + this.#remaining} exceeds ${this.#target.length}`,
      );
    }
    this.#state = STATE.data;
  }

  /** Trailer lines are bounded and dropped; an empty line ends the body. */
  #trailerByte(c: number): void {
    if (++this.#trailerBytes > TRAILER_BYTES_MAX) {
      throw new ChunkedError(400, `trailers over ${TRAILER_BYTES_MAX} bytes`);
    }
    switch (this.#state) {
      case STATE.trailerStart:
        if (c === 13) this.#state = STATE.finalLf;
        else if (c === 10) throw new ChunkedError(400, "bare LF in trailers");
        else this.#state = STATE.trailer;
        return;
      case STATE.trailer:
        if (c === 13) this.#state = STATE.trailerLf;
        else if (c === 10) throw new ChunkedError(400, "bare LF in trailers");
        return;
      case STATE.trailerLf:
        if (c !== 10) throw new ChunkedError(400, "CR without LF in trailers");
        this.#state = STATE.trailerStart;
        return;
      case STATE.finalLf:
        if (c !== 10) throw new ChunkedError(400, "CR without LF at the body's end");
        this.#state = STATE.done;
        return;
    }
  }
}
