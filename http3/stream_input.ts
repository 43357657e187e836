/**
 * The receiving half of one HTTP/3 stream as a sequence of frames: reads QUIC chunks on demand,
 * feeds them to a {@link FrameParser} and hands out frames, with a stall timeout on every wait
 * for the peer.
 *
 * Reading is pull-driven: nothing is read from QUIC until the consumer asks for the next frame,
 * so QUIC flow control pushes back on a sender whose body nobody consumes.
 *
 * @module
 */

import type { Clock, Timeout } from "../clock/mod.ts";
import { H3Error } from "./errors.ts";
import { type Frame, FrameParser, type FrameParserOptions } from "./frame.ts";

/**
 * The stall timeout of one connection's streams, on the service's clock: a stream that waits
 * for the peer is its own clock entry (`Timeout`), armed when the wait begins and disarmed when
 * the bytes come, so a read costs two array writes and no timer or closure.
 *
 * @example
 * ```ts
 * const watch = new StallWatch(10_000, clock);
 * watch.begin(input); // input implements Timeout: onTimeout cancels its read
 * await read;
 * watch.end(input);
 * ```
 */
export class StallWatch {
  readonly timeoutMs: number;
  readonly clock: Clock;

  constructor(timeoutMs: number, clock: Clock) {
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`Cannot watch stalls: timeoutMs ${timeoutMs} is not a positive integer`);
    }
    this.timeoutMs = timeoutMs;
    this.clock = clock;
  }

  /** Starts watching one wait of `waiter` (one wait per waiter at a time). */
  begin(waiter: Timeout): void {
    this.clock.armIn(waiter, this.timeoutMs);
  }

  /** Ends the wait of `waiter`. */
  end(waiter: Timeout): void {
    this.clock.disarm(waiter);
  }

  /**
   * Waits for `promise` at most the stall timeout, then rejects with `onTimeout()`.
   *
   * @example
   * ```ts
   * await watch.within(blocked, () => new Error("late"));
   * ```
   */
  async within<T>(promise: Promise<T>, onTimeout: () => Error): Promise<T> {
    const late = {};
    const outcome = await this.clock.within(promise, this.timeoutMs, late);
    if (outcome === late) throw onTimeout();
    return outcome as T;
  }
}

/** Options of {@link StreamInput}. */
export interface StreamInputOptions extends FrameParserOptions {
  /** Times out waits for the peer's next bytes (H3_REQUEST_INCOMPLETE); null = never. */
  readonly stallWatch: StallWatch | null;
  /** Bounds the chunks one stream may deliver (each read yields at least one byte). */
  readonly chunkCountMax?: number;
  /**
   * Hand out small reads as views of reused buffers instead of copies; the owner then calls
   * `recycle()` when no view is used any more, or `ownBytes()` before views may escape.
   * Default false (each small read is copied out of the reused buffer).
   */
  readonly lendScratch?: boolean;
}

/** The first read's buffer size. */
const READ_BYTES_MIN = 4096;
/** The largest read buffer, reached by doubling while reads fill the buffer. */
const READ_BYTES_MAX = 65536;

/** Bounds the spare first-read buffers kept for reuse (at most 64 x 4 KiB per process). */
const SCRATCH_COUNT_MAX = 64;
/**
 * Spare first-read buffers. A small request arrives in one read of a few hundred bytes: reading
 * it into a reused 4 KiB buffer and keeping an exact-size copy allocates that copy only, where a
 * fresh 4 KiB buffer per request (zeroed, outside the JS heap) drove much of the GC work.
 */
const scratchBuffers: ArrayBuffer[] = [];

function takeScratch(): ArrayBuffer {
  return scratchBuffers.pop() ?? new ArrayBuffer(READ_BYTES_MIN);
}

/** Keeps `buffer` as a spare first-read buffer if it is one and there is room. */
function keepSpare(buffer: ArrayBuffer): void {
  if (buffer.byteLength === READ_BYTES_MIN && scratchBuffers.length < SCRATCH_COUNT_MAX) {
    scratchBuffers.push(buffer);
  }
}

/** Bounds the scratch buffers one stream holds as its chunks (see StreamInput.recycle). */
const LENT_COUNT_MAX = 4;

/** Default bound on chunks per stream: 1 Mi reads (16 GiB at 16 KiB a read). */
const CHUNK_COUNT_MAX_DEFAULT = 1 << 20;

/**
 * Frames of one stream, read on demand.
 *
 * @example
 * ```ts
 * const input = new StreamInput(stream.readable, {
 *   streamKind: "request", role: "server", stallWatch: new StallWatch(10_000, clock),
 * });
 * const first = await input.nextFrame(); // { type: "headers", ... } or null at FIN
 * ```
 */
export class StreamInput implements Timeout {
  clockSlot = -1;
  deadlineAtMs = 0;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
  readonly #byob: boolean;
  #readBytes = READ_BYTES_MIN;
  readonly #parser: FrameParser;
  readonly #stallWatch: StallWatch | null;
  readonly #chunkCountMax: number;
  #chunkCount = 0;
  #ended = false;
  #cancelled = false;
  #stalled = false;
  /** A read is in flight (its buffer belongs to the transport until it settles). */
  #reading = false;
  /** Scratch buffers handed out as chunks (views, no copy) until recycle() takes them back. */
  #lent: ArrayBuffer[] | null = null;
  #lendScratch: boolean;
  #recycled = false;

  constructor(readable: ReadableStream<Uint8Array>, options: StreamInputOptions) {
    // A byte stream (a QUIC stream) is read into buffers we size: its default reader would
    // allocate and zero 64 KiB per read, which for small requests cost more than the rest of
    // the read and most of the GC.
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = readable.getReader({ mode: "byob" });
    } catch {
      byob = null;
    }
    this.#byob = byob !== null;
    this.#reader = byob ?? readable.getReader();
    this.#parser = new FrameParser(options);
    this.#stallWatch = options.stallWatch;
    this.#chunkCountMax = options.chunkCountMax ?? CHUNK_COUNT_MAX_DEFAULT;
    this.#lendScratch = options.lendScratch ?? false;
  }

  /** True once the peer's FIN was read (and every frame before it handed out). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * The next frame (a DATA frame may come in pieces), or null at the stream's clean end.
   * Throws H3Error for protocol violations, H3_REQUEST_INCOMPLETE when the peer stalls or ends
   * inside a frame, and the transport's error when the stream or connection is gone.
   */
  async nextFrame(): Promise<Frame | null> {
    if (this.#recycled) return null;
    for (;;) {
      const frame = this.#parser.next();
      if (frame !== undefined) return frame;
      if (this.#ended) return null;
      if (++this.#chunkCount > this.#chunkCountMax) {
        throw new H3Error("H3_EXCESSIVE_LOAD", `more than ${this.#chunkCountMax} chunks`, {
          scope: "stream",
        });
      }
      // The read is awaited here, not in a helper: each async level is a promise and a hop
      // per read, on every request.
      const watch = this.#stallWatch;
      watch?.begin(this);
      this.#reading = true;
      const requestedBytes = this.#readBytes;
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await this.#startRead();
      } finally {
        this.#reading = false;
        watch?.end(this);
      }
      const chunk = this.#chunkOf(result, requestedBytes);
      if (this.#recycled) return null;
      if (this.#stalled) {
        throw new H3Error(
          "H3_REQUEST_INCOMPLETE",
          `no bytes from the peer for ${this.#stallWatch?.timeoutMs} ms`,
          { scope: "stream" },
        );
      }
      if (chunk === null) {
        this.#ended = true;
        try {
          this.#parser.finish();
        } catch {
          throw new H3Error("H3_REQUEST_INCOMPLETE", "stream ended inside a frame", {
            scope: "stream",
          });
        }
        continue;
      }
      this.#parser.push(chunk);
    }
  }

  /**
   * The next frame if the bytes already read hold it, else undefined (nothing is read from
   * QUIC). Lets a caller take a body that arrived with its HEADERS without an await.
   */
  bufferedFrame(): Frame | undefined {
    return this.#recycled ? undefined : this.#parser.next();
  }

  /**
   * Takes back the reused buffers this stream's small reads went into, for other streams'
   * reads. Call it only when no frame, piece or view handed out by this input is used any more
   * (the bytes were copied or decoded, nothing waits on a QPACK-blocked section); afterwards the
   * input hands out nothing. Does nothing while a read is in flight (false), since that read
   * still owns a buffer.
   *
   * @example
   * ```ts
   * const frame = input.bufferedFrame();
   * if (frame?.type === "data") lease.set(frame.bytes);
   * input.cancel();
   * input.recycle(); // true: the buffers serve the next streams
   * ```
   */
  recycle(): boolean {
    if (this.#reading) return false;
    this.#recycled = true;
    this.#returnLent();
    return true;
  }

  /**
   * Stops lending: the bytes read but not yet handed out are copied, and the reused buffers
   * go back (as in recycle(), frames handed out before must not be used any more); later frames
   * are views of memory the input owns. Throws when a read is in flight.
   *
   * @example
   * ```ts
   * const head = await input.nextFrame(); // decoded, no view kept
   * input.ownBytes();
   * const body = input.bufferedFrame(); // may be handed to the app
   * ```
   */
  ownBytes(): void {
    if (this.#reading) {
      throw new TypeError("Cannot take the stream's bytes: a read is in flight");
    }
    this.#lendScratch = false;
    if (this.#lent === null) return;
    this.#parser.ownPending();
    this.#returnLent();
  }

  #returnLent(): void {
    const lent = this.#lent;
    this.#lent = null;
    // Bounded by LENT_COUNT_MAX and SCRATCH_COUNT_MAX.
    for (let i = 0; lent !== null && i < lent.length; i++) keepSpare(lent[i]);
  }

  /** Starts one read: into a reused buffer at first, then into fresh growing ones. */
  #startRead(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (!this.#byob) return (this.#reader as ReadableStreamDefaultReader<Uint8Array>).read();
    const reader = this.#reader as ReadableStreamBYOBReader;
    // A fresh buffer per larger read: the parser keeps views of what it was given, and a large
    // body moves in reads of up to 64 KiB without a copy.
    return reader.read(
      this.#readBytes === READ_BYTES_MIN
        ? new Uint8Array(takeScratch())
        : new Uint8Array(this.#readBytes),
    );
  }

  /** The chunk a read gave (null at FIN); see #startRead for the buffers. */
  #chunkOf(
    result: ReadableStreamReadResult<Uint8Array>,
    requestedBytes: number,
  ): Uint8Array | null {
    if (!this.#byob) return result.done ? null : result.value;
    if (requestedBytes === READ_BYTES_MIN) return this.#keepScratch(result);
    if (result.done) return null;
    if (result.value.length === requestedBytes) {
      this.#readBytes = Math.min(requestedBytes * 2, READ_BYTES_MAX);
    }
    return result.value;
  }

  /**
   * A first-size read went into a reused buffer: hands out the read bytes as a view of it,
   * lent to this stream until recycle() (up to LENT_COUNT_MAX buffers), or else an exact-size
   * copy, keeping the buffer for the next read (see scratchBuffers).
   */
  #keepScratch(result: ReadableStreamReadResult<Uint8Array>): Uint8Array | null {
    // The read transferred the buffer: its memory comes back as the result's buffer (lost only
    // when the read failed, in which case a new one is made next time).
    const value = result.value;
    if (value === undefined) return null;
    const returned = value.buffer as ArrayBuffer;
    if (result.done) {
      keepSpare(returned);
      return null;
    }
    // Doubling while reads fill the buffer, so a large body soon moves in 64 KiB reads.
    if (value.length === READ_BYTES_MIN) this.#readBytes = READ_BYTES_MIN * 2;
    if (this.#lendScratch && !this.#recycled) {
      const lent = this.#lent ??= [];
      if (lent.length < LENT_COUNT_MAX) {
        lent.push(returned);
        return value;
      }
    }
    const copy = value.slice();
    keepSpare(returned);
    return copy;
  }

  /** Called by the clock: the peer sent nothing for the stall timeout. */
  onTimeout(): void {
    this.#stalled = true;
    this.cancel();
  }

  /** Stops reading: asks the peer to stop sending (unless the stream already ended). */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reader.cancel().catch(() => {});
  }
}

/**
 * A message body read from `input` on demand (highWaterMark 0, so QUIC flow control holds back
 * a peer whose body is not consumed): each pull calls `pullOnce`, which reads frames until it
 * enqueued a piece or closed the body. A failure fails the body and cancels the input; a
 * cancelled body cancels the input.
 *
 * @example
 * ```ts
 * const body = frameBodyStream(input, async (controller) => {
 *   const frame = await input.nextFrame();
 *   if (frame === null) controller.close();
 *   else if (frame.type === "data") controller.enqueue(frame.bytes);
 * });
 * ```
 */
export function frameBodyStream(
  input: StreamInput,
  pullOnce: (controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pullOnce(controller);
      } catch (error) {
        controller.error(error);
        input.cancel();
      }
    },
    cancel() {
      input.cancel();
    },
  }, { highWaterMark: 0 });
}
