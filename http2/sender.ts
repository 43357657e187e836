/**
 * The send side of one connection: control frames, response HEADERS, and DATA copied from the
 * handlers' memory into the output buffer within the peer's windows (RFC 9113 §5.2, §6.9).
 *
 * Streams with output waiting (a head that did not fit, a body, a chunk, END_STREAM) sit in one
 * queue that `pump` serves round-robin, one frame per stream per pass, whenever a window opens
 * or a write makes room. DATA never takes the output's last `CONTROL_RESERVE_BYTES`, so a
 * control frame (an ACK, a RST_STREAM, a WINDOW_UPDATE) always fits; the dispatcher stops
 * reading frames while less than that is free, which keeps a peer that does not read from
 * making us queue anything.
 *
 * Everything appended during one synchronous run goes out in one write: `scheduleFlush` defers
 * the write to a microtask, after the run.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import { H2_ERROR, isH2ErrorCodeName } from "./errors.ts";
import {
  FRAME_FLAG,
  FRAME_HEADER_BYTES,
  FRAME_TYPE,
  WINDOW_MAX_BYTES,
  writeFrameHeader,
  writeWindowUpdate,
} from "./frame.ts";
import { ResponseHeadEncoder } from "./hpack_encoder.ts";
import { Output, type OutputHost } from "./output.ts";
import { PeerSettings, SETTINGS_INITIAL } from "./settings.ts";
import { H2Stream, RESPONSE, type StreamHost } from "./stream.ts";

/** Output bytes that DATA and response heads leave free for control frames. */
export const CONTROL_RESERVE_BYTES = 1024;

/** What the sender needs from the connection. */
export interface SenderOwner {
  /** END_STREAM was written on `stream`. */
  onResponseComplete(stream: H2Stream): void;
  /** The handler called `reset(code)`. */
  onHandlerReset(stream: H2Stream, codeName: keyof typeof H2_ERROR): void;
  /** Check stalls at `atMs` (a response found the peer's window closed). */
  deadlineAt(atMs: number): void;
  /** A write failed. */
  onWriteError(error: unknown): void;
}

const STEP_DONE = 0;
const STEP_PROGRESS = 1;
const STEP_BLOCKED = 2;

type Fields = readonly (readonly [string, string])[];

function streamGone(stream: H2Stream): Error {
  return new Error(`Cannot send on HTTP/2 stream ${stream.id}: it is closed`);
}

/**
 * One connection's sender.
 *
 * @example
 * ```ts
 * const sender = new Sender(conn, clock, limits.outputBufferBytes, owner, 10_000);
 * sender.output.rstStream(3, H2_ERROR.REFUSED_STREAM);
 * sender.scheduleFlush();
 * ```
 */
export class Sender implements StreamHost, OutputHost {
  readonly output: Output;
  readonly peer = new PeerSettings();
  /** Bytes we may still send on the connection (the peer's connection window). */
  connectionWindow: number = SETTINGS_INITIAL.connectionWindowBytes;
  /** DATA frames written (WINDOW_UPDATEs the peer may send in return). */
  dataFramesSent = 0;
  readonly #encoder = new ResponseHeadEncoder();
  readonly #queue: H2Stream[] = [];
  readonly #grants: H2Stream[] = [];
  readonly #owner: SenderOwner;
  readonly #clock: Clock;
  readonly #writeStallTimeoutMs: number;
  #connectionGrantBytes = 0;
  /** RST_STREAM(NO_ERROR)s waiting for the write that carries their stream's END_STREAM. */
  readonly #resetsAfter: { streamId: number; afterBytes: number }[] = [];
  readonly #resetsAfterMax: number;
  #flushScheduled = false;
  readonly #flushTask = () => this.flushNow();
  #closed = false;

  constructor(
    conn: Deno.Conn,
    clock: Clock,
    outputBytes: number,
    owner: SenderOwner,
    writeStallTimeoutMs: number,
    resetsAfterMax: number,
  ) {
    this.output = new Output(conn, clock, outputBytes, this);
    this.#resetsAfterMax = resetsAfterMax;
    this.#owner = owner;
    this.#clock = clock;
    this.#writeStallTimeoutMs = writeStallTimeoutMs;
  }

  /** Encoded response heads cached (memory accounting). */
  get cachedHeadBytes(): number {
    return this.#encoder.cachedBytes;
  }

  /** Streams waiting to write (tests). */
  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Stops all output (the connection is closing or gone). */
  close(): void {
    this.#closed = true;
    this.output.close();
  }

  /**
   * RST_STREAM(NO_ERROR) for a stream whose complete answer is in the output, sent in a later
   * write than the answer: some clients (curl 7.88) drop an answer whose RST_STREAM they read
   * in the same pass. Past `resetsAfterMax` waiting, it goes at once.
   */
  resetAfterAnswer(streamId: number): void {
    if (this.#resetsAfter.length >= this.#resetsAfterMax) {
      this.output.rstStream(streamId, H2_ERROR.NO_ERROR);
      return;
    }
    this.#resetsAfter.push({ streamId, afterBytes: this.output.writtenBytes + this.output.length });
  }

  /** Appends the waiting resets whose answers were written. */
  #writeResetsAfter(): void {
    const waiting = this.#resetsAfter;
    let kept = 0;
    for (let i = 0; i < waiting.length; i++) {
      const entry = waiting[i];
      if (entry.afterBytes <= this.output.writtenBytes && this.output.room >= 13) {
        this.output.rstStream(entry.streamId, H2_ERROR.NO_ERROR);
      } else {
        waiting[kept++] = entry;
      }
    }
    waiting.length = kept;
  }

  /** The peer changed SETTINGS_HEADER_TABLE_SIZE (the encoder re-announces its table). */
  peerTableSizeChanged(): void {
    this.#encoder.peerTableSizeChanged();
  }

  /** Opens the connection receive window by `bytes` (sent with the next write). */
  grantConnection(bytes: number): void {
    this.#connectionGrantBytes += bytes;
  }

  /** A response head for a stream the engine answers itself (431), ending the stream. */
  respondWithoutStream(streamId: number, status: number): void {
    this.#writeHeaders(streamId, this.#encoder.encode(status, []), true);
  }

  // --- StreamHost: the handler's calls. ---

  grant(stream: H2Stream, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new RangeError(`Cannot grant ${bytes} bytes on stream ${stream.id}`);
    }
    if (stream.closed || stream.remoteEnded) return;
    const granted = Math.min(bytes, WINDOW_MAX_BYTES - stream.recvWindow);
    if (granted <= 0) return;
    stream.recvWindow += granted;
    if (stream.pendingGrantBytes === 0) this.#grants.push(stream);
    stream.pendingGrantBytes += granted;
    this.scheduleFlush();
  }

  respond(
    stream: H2Stream,
    status: number,
    fields: Fields,
    body: Uint8Array | null,
    onDone: ((error: Error | null) => void) | null,
  ): void {
    const data = body !== null && body.length > 0 ? body : null;
    if (this.#startResponse(stream, status, fields, data, onDone, true)) this.#kick(stream);
  }

  respondHead(stream: H2Stream, status: number, fields: Fields): void {
    if (this.#startResponse(stream, status, fields, null, null, false)) this.#kick(stream);
  }

  write(stream: H2Stream, chunk: Uint8Array): Promise<void> {
    if (stream.response === RESPONSE.NONE) {
      return Promise.reject(new TypeError(`Cannot write on stream ${stream.id}: no respondHead`));
    }
    if (stream.closed || stream.response === RESPONSE.COMPLETE || stream.endPending) {
      return Promise.reject(streamGone(stream));
    }
    if (stream.data !== null) {
      return Promise.reject(
        new TypeError(`Cannot write on stream ${stream.id}: the previous write is pending`),
      );
    }
    if (chunk.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      stream.data = chunk;
      stream.dataOffset = 0;
      stream.dataDone = (error) => error === null ? resolve() : reject(error);
      this.#kick(stream);
    });
  }

  end(stream: H2Stream): void {
    if (stream.closed || stream.response === RESPONSE.COMPLETE || stream.endPending) return;
    if (stream.response === RESPONSE.NONE) {
      throw new TypeError(`Cannot end stream ${stream.id}: no respondHead`);
    }
    stream.endPending = true;
    this.#kick(stream);
  }

  reset(stream: H2Stream, code: string): void {
    if (!isH2ErrorCodeName(code)) throw new TypeError(`Cannot reset: ${code} is not an error code`);
    if (!stream.closed) this.#owner.onHandlerReset(stream, code);
  }

  /**
   * Validates and encodes the head (errors throw to the caller), sets the response up, and
   * writes the head when it fits; false when the stream is gone (`onDone` was told). `end`:
   * END_STREAM follows the data (respond), else it waits for `end()` (respondHead).
   */
  #startResponse(
    stream: H2Stream,
    status: number,
    fields: Fields,
    data: Uint8Array | null,
    onDone: ((error: Error | null) => void) | null,
    end: boolean,
  ): boolean {
    if (stream.response !== RESPONSE.NONE) {
      throw new TypeError(`Cannot respond on stream ${stream.id}: it has a response already`);
    }
    const block = this.#encoder.encode(status, fields);
    const frames = Math.max(1, Math.ceil(block.length / this.peer.maxFrameSizeBytes));
    const maxBytes = this.output.buf.length - CONTROL_RESERVE_BYTES;
    if (block.length + frames * FRAME_HEADER_BYTES > maxBytes) {
      throw new RangeError(
        `Cannot respond on stream ${stream.id}: header block ${block.length} bytes exceeds ${maxBytes}`,
      );
    }
    if (stream.closed) {
      if (onDone !== null) onDone(streamGone(stream));
      return false;
    }
    stream.response = RESPONSE.STARTED;
    stream.data = data;
    stream.dataOffset = 0;
    stream.dataDone = onDone;
    stream.endPending = end;
    stream.headPending = true;
    if (this.#headFits(block)) this.#writeHead(stream, block);
    else stream.pendingBlock = block.slice(); // the encoder reuses its view
    return true;
  }

  /** Writes what it can of the stream now, queues the rest, and schedules the write. */
  #kick(stream: H2Stream): void {
    const step = this.#step(stream);
    if (step !== STEP_DONE && !stream.queued) {
      stream.queued = true;
      this.#queue.push(stream);
    }
    this.scheduleFlush();
  }

  // --- Writing. ---

  #headFits(block: Uint8Array): boolean {
    const frames = Math.max(1, Math.ceil(block.length / this.peer.maxFrameSizeBytes));
    return this.output.room - CONTROL_RESERVE_BYTES >= block.length + frames * FRAME_HEADER_BYTES;
  }

  /** HEADERS (+ CONTINUATION) for a stream's head that fits; END_STREAM when nothing follows. */
  #writeHead(stream: H2Stream, block: Uint8Array): void {
    const endStream = stream.data === null && stream.endPending;
    this.#writeHeaders(stream.id, block, endStream);
    stream.headPending = false;
    stream.pendingBlock = null;
    if (!endStream) return;
    this.#complete(stream);
    this.#finishData(stream);
  }

  #writeHeaders(streamId: number, block: Uint8Array, endStream: boolean): void {
    const out = this.output.buf;
    const frameMax = this.peer.maxFrameSizeBytes;
    let at = this.output.length;
    let offset = 0;
    let type: number = FRAME_TYPE.HEADERS;
    let flags = endStream ? FRAME_FLAG.END_STREAM : 0;
    // One HEADERS, then CONTINUATION frames while the block is longer than a frame.
    do {
      const length = Math.min(frameMax, block.length - offset);
      const last = offset + length === block.length;
      at = writeFrameHeader(
        out,
        at,
        length,
        type,
        flags | (last ? FRAME_FLAG.END_HEADERS : 0),
        streamId,
      );
      out.set(block.subarray(offset, offset + length), at);
      at += length;
      offset += length;
      type = FRAME_TYPE.CONTINUATION;
      flags = 0;
    } while (offset < block.length);
    this.output.length = at;
  }

  /** Writes at most one frame of the stream's output. */
  #step(stream: H2Stream): number {
    if (stream.closed) return STEP_DONE;
    if (stream.headPending) {
      if (stream.pendingBlock === null || !this.#headFits(stream.pendingBlock)) return STEP_BLOCKED;
      this.#writeHead(stream, stream.pendingBlock);
      return stream.hasOutput && !stream.closed ? STEP_PROGRESS : STEP_DONE;
    }
    const data = stream.data;
    if (data !== null) return this.#stepData(stream, data);
    if (stream.endPending && stream.response !== RESPONSE.COMPLETE) {
      if (this.output.room - CONTROL_RESERVE_BYTES < FRAME_HEADER_BYTES) return STEP_BLOCKED;
      this.output.length = writeFrameHeader(
        this.output.buf,
        this.output.length,
        0,
        FRAME_TYPE.DATA,
        FRAME_FLAG.END_STREAM,
        stream.id,
      );
      this.#complete(stream);
    }
    return STEP_DONE;
  }

  #stepData(stream: H2Stream, data: Uint8Array): number {
    const remaining = data.length - stream.dataOffset;
    const room = this.output.room - CONTROL_RESERVE_BYTES - FRAME_HEADER_BYTES;
    const windowBytes = Math.min(stream.sendWindow, this.connectionWindow);
    const length = Math.min(remaining, windowBytes, this.peer.maxFrameSizeBytes, room);
    if (length <= 0) {
      if (windowBytes <= 0 && stream.blockedSinceMs === 0) {
        stream.blockedSinceMs = this.#clock.nowMs;
        this.#owner.deadlineAt(stream.blockedSinceMs + this.#writeStallTimeoutMs);
      }
      return STEP_BLOCKED;
    }
    const last = length === remaining;
    const endStream = last && stream.endPending;
    const out = this.output.buf;
    const at = writeFrameHeader(
      out,
      this.output.length,
      length,
      FRAME_TYPE.DATA,
      endStream ? FRAME_FLAG.END_STREAM : 0,
      stream.id,
    );
    out.set(data.subarray(stream.dataOffset, stream.dataOffset + length), at);
    this.output.length = at + length;
    stream.dataOffset += length;
    stream.sendWindow -= length;
    this.connectionWindow -= length;
    stream.blockedSinceMs = 0;
    this.dataFramesSent++;
    if (!last) return STEP_PROGRESS;
    stream.data = null;
    if (endStream) this.#complete(stream);
    return this.#finishData(stream);
  }

  /** The data range was copied out: tells its caller. */
  #finishData(stream: H2Stream): number {
    const done = stream.dataDone;
    stream.dataDone = null;
    if (done !== null) done(null);
    return stream.hasOutput && !stream.closed ? STEP_PROGRESS : STEP_DONE;
  }

  #complete(stream: H2Stream): void {
    stream.response = RESPONSE.COMPLETE;
    stream.endPending = false;
    this.#owner.onResponseComplete(stream);
  }

  /**
   * Serves the queue round-robin, one frame per stream per pass, until nothing progresses.
   * Each progressing pass appends at least one frame header, so the passes are bounded by the
   * output buffer's size.
   */
  pump(): void {
    if (this.#closed) return;
    const queue = this.#queue;
    const passesMax = 1 + Math.floor(this.output.buf.length / FRAME_HEADER_BYTES);
    for (let pass = 0; pass < passesMax && queue.length > 0; pass++) {
      let progressed = false;
      let kept = 0;
      // Handlers called from here may queue more streams: they are served in this pass too.
      for (let i = 0; i < queue.length; i++) {
        const stream = queue[i];
        const step = this.#step(stream);
        if (step === STEP_DONE) stream.queued = false;
        else queue[kept++] = stream;
        if (step !== STEP_BLOCKED) progressed = true;
      }
      queue.length = kept;
      if (!progressed) break;
    }
  }

  /** Queued streams whose window has been closed since before `sinceMs`. */
  stalledBefore(sinceMs: number): H2Stream[] {
    return this.#queue.filter((s) =>
      !s.closed && s.blockedSinceMs > 0 && s.blockedSinceMs <= sinceMs
    );
  }

  /** The earliest time a queued stream started waiting for a window, 0 when none is. */
  get oldestBlockedSinceMs(): number {
    let oldest = 0;
    for (const stream of this.#queue) {
      if (stream.closed || stream.blockedSinceMs === 0) continue;
      if (oldest === 0 || stream.blockedSinceMs < oldest) oldest = stream.blockedSinceMs;
    }
    return oldest;
  }

  /** WINDOW_UPDATEs for the grants made since the last write, as far as they fit. */
  #writeGrants(): void {
    const out = this.output;
    if (this.#connectionGrantBytes > 0 && out.room >= 13) {
      out.length = writeWindowUpdate(out.buf, out.length, 0, this.#connectionGrantBytes);
      this.#connectionGrantBytes = 0;
    }
    const grants = this.#grants;
    let kept = 0;
    for (let i = 0; i < grants.length; i++) {
      const stream = grants[i];
      if (stream.closed || stream.remoteEnded) {
        stream.pendingGrantBytes = 0;
      } else if (out.room >= 13) {
        out.length = writeWindowUpdate(out.buf, out.length, stream.id, stream.pendingGrantBytes);
        stream.pendingGrantBytes = 0;
      } else {
        grants[kept++] = stream;
      }
    }
    grants.length = kept;
  }

  /** Pumps, adds pending WINDOW_UPDATEs and starts a write now. */
  flushNow(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    this.pump();
    this.#writeGrants();
    this.output.flush();
  }

  /** Flushes after the current synchronous run (coalescing everything it appends). */
  scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  // --- OutputHost. ---

  onWriteStarted(nowMs: number): void {
    this.#owner.deadlineAt(nowMs + this.#writeStallTimeoutMs);
  }

  onWritable(): void {
    this.#writeResetsAfter();
    this.pump();
    this.#writeGrants();
  }

  onWriteError(error: unknown): void {
    this.#owner.onWriteError(error);
  }
}
