/**
 * The receive side of one connection: parses the frames in the read buffer in place and acts on
 * each (RFC 9113 §5, §6, §8) — stream states, request heads, DATA straight to the handler,
 * flow control, SETTINGS, PING, GOAWAY, resets — and the stream lifecycle that joins the two
 * sides. Connection errors are thrown (the connection answers them with GOAWAY); stream errors
 * are answered here with RST_STREAM.
 *
 * Flow control keeps the memory promise: a stream's receive window is our (small) initial
 * window plus what its handler granted; DATA goes to `onData` from the read buffer during the
 * parse, so nothing waits in memory, and the connection window is given back as soon as the
 * payloads were handed over. Before the peer acknowledged our SETTINGS it may still use the
 * default 65,535-byte stream window (RFC 9113 §6.9.2); streams opened then get that window, and
 * the difference is taken back at the ACK as the peer does.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import { H2_ERROR, H2Error, type H2ErrorCodeName, h2ErrorCodeName, streamError } from "./errors.ts";
import { FLOOD, type FloodGuard } from "./flood.ts";
import {
  checkFrameHeader,
  FRAME_FLAG,
  FRAME_HEADER_BYTES,
  FRAME_TYPE,
  FrameHeader,
  parseDataPayload,
  parseFrameHeader,
  parseHeadersPayload,
  parsePriorityPayload,
  parseWindowUpdatePayload,
  PayloadSpan,
  readU32,
  STREAM_ID_MAX,
  WINDOW_MAX_BYTES,
} from "./frame.ts";
import type { H2Handler } from "./handler.ts";
import { HeaderBlocks } from "./header_block.ts";
import type { H2Limits } from "./limits.ts";
import { RequestHead } from "./request_head.ts";
import { type LifecycleOwner, StreamLifecycle } from "./lifecycle.ts";
import { CONTROL_RESERVE_BYTES, type Sender } from "./sender.ts";
import { applySettingsPayload, encodeSettingsFrame, localSettings } from "./settings.ts";
import { ReceiveFlow } from "./flow.ts";
import { H2Stream, RESPONSE } from "./stream.ts";
import { CLOSED, type StreamTable } from "./stream_table.ts";

/** What the dispatcher tells the connection. */
export interface DispatcherOwner extends LifecycleOwner {
  /** No further stream can be opened (IDs or the per-connection count used up). */
  onStreamsExhausted(): void;
}

function isStreamError(error: unknown): error is H2Error {
  return error instanceof H2Error && error.scope === "stream";
}

/**
 * Frames in, actions out, for one connection.
 *
 * @example
 * ```ts
 * const dispatcher = new Dispatcher(conn, options);
 * dispatcher.start();
 * const consumed = dispatcher.process(buf, start, end);
 * ```
 */
export class Dispatcher {
  readonly sender: Sender;
  readonly table: StreamTable;
  readonly blocks: HeaderBlocks;
  readonly flood: FloodGuard;
  readonly #life: StreamLifecycle;
  /** The peer sent GOAWAY: it opens no more streams. */
  peerGoaway = false;
  /** We sent GOAWAY: new streams are refused. */
  goawaySent = false;
  /** When our SETTINGS went out, until acknowledged (0 when none is pending). */
  settingsSentAtMs = 0;
  /** The peer's first SETTINGS arrived (the preface is complete). */
  prefaceSettingsSeen = false;
  /** `process` stopped because the output has less than its control reserve free. */
  pausedForOutput = false;
  readonly #limits: H2Limits;
  readonly #handler: H2Handler;
  readonly #clock: Clock;
  readonly #owner: DispatcherOwner;
  readonly #header = new FrameHeader();
  readonly #span = new PayloadSpan();
  /** Our initial stream window as the peer sees it: the default until our SETTINGS are acked. */
  readonly #flow: ReceiveFlow;
  #dataFramesCredited = 0;

  constructor(
    conn: Deno.Conn,
    handler: H2Handler,
    clock: Clock,
    limits: H2Limits,
    owner: DispatcherOwner,
  ) {
    this.#limits = limits;
    this.#handler = handler;
    this.#clock = clock;
    this.#owner = owner;
    this.#life = new StreamLifecycle(conn, clock, limits, owner);
    this.sender = this.#life.sender;
    this.table = this.#life.table;
    this.flood = this.#life.flood;
    this.blocks = new HeaderBlocks(limits);
    this.#flow = new ReceiveFlow(limits);
  }

  /** Our SETTINGS and the connection window, the server's first frames (RFC 9113 §3.4). */
  start(): void {
    this.sender.output.raw(encodeSettingsFrame(localSettings(this.#limits)));
    this.#flow.open(this.sender);
    this.settingsSentAtMs = this.#clock.nowMs;
    this.#owner.deadlineAt(this.settingsSentAtMs + this.#limits.settingsAckTimeoutMs);
  }

  /**
   * Handles every whole frame in `buf[start, end)`; returns the offset of the first byte not
   * consumed (a partial frame, or frames left while the output has no room for control frames).
   * Connection errors throw.
   */
  process(buf: Uint8Array, start: number, end: number): number {
    const header = this.#header;
    const frameSizeMax = this.#limits.maxFrameSizeBytes;
    let at = start;
    this.pausedForOutput = false;
    // Each pass consumes one whole frame: bounded by the buffer.
    while (end - at >= FRAME_HEADER_BYTES) {
      if (this.sender.output.room < CONTROL_RESERVE_BYTES) {
        this.pausedForOutput = true;
        break;
      }
      parseFrameHeader(buf, at, header);
      if (header.length > frameSizeMax) {
        throw new H2Error(
          "FRAME_SIZE_ERROR",
          `frame length ${header.length} exceeds ${frameSizeMax}`,
        );
      }
      const frameEnd = at + FRAME_HEADER_BYTES + header.length;
      if (frameEnd > end) break;
      try {
        checkFrameHeader(header, frameSizeMax);
        this.#frame(buf, at + FRAME_HEADER_BYTES);
      } catch (error) {
        if (!isStreamError(error)) throw error;
        this.#life.answerStreamError(error);
      }
      at = frameEnd;
    }
    this.#flow.replenish(this.sender);
    return at;
  }

  #frame(buf: Uint8Array, at: number): void {
    const header = this.#header;
    if (!this.prefaceSettingsSeen) {
      if (header.type !== FRAME_TYPE.SETTINGS || (header.flags & FRAME_FLAG.ACK) !== 0) {
        throw new H2Error("PROTOCOL_ERROR", "the client preface is not followed by SETTINGS");
      }
      this.prefaceSettingsSeen = true;
    }
    if (this.blocks.streamId !== 0 && header.type !== FRAME_TYPE.CONTINUATION) {
      throw new H2Error("PROTOCOL_ERROR", `frame type ${header.type} inside a header block`);
    }
    switch (header.type) {
      case FRAME_TYPE.DATA:
        return this.#onData(buf, at);
      case FRAME_TYPE.HEADERS:
        return this.#onHeaders(buf, at);
      case FRAME_TYPE.CONTINUATION:
        return this.#onContinuation(buf, at);
      case FRAME_TYPE.PRIORITY:
        this.flood.count(FLOOD.PRIORITY, this.#clock.nowMs);
        parsePriorityPayload(buf, at, header);
        return;
      case FRAME_TYPE.PRIORITY_UPDATE:
        return this.flood.count(FLOOD.PRIORITY, this.#clock.nowMs);
      case FRAME_TYPE.RST_STREAM:
        return this.#onRstStream(buf, at);
      case FRAME_TYPE.SETTINGS:
        return this.#onSettings(buf, at);
      case FRAME_TYPE.PING:
        if ((header.flags & FRAME_FLAG.ACK) !== 0) return; // we send no PING of our own
        this.flood.count(FLOOD.PING, this.#clock.nowMs);
        return this.sender.output.pingAck(buf, at);
      case FRAME_TYPE.GOAWAY:
        this.peerGoaway = true;
        if (this.table.size === 0) this.#owner.onIdle();
        return;
      case FRAME_TYPE.WINDOW_UPDATE:
        return this.#onWindowUpdate(buf, at);
    }
    // Unknown frame types are ignored (RFC 9113 §4.1, §5.5).
  }

  // --- DATA. ---

  #onData(buf: Uint8Array, at: number): void {
    const header = this.#header;
    const id = header.streamId;
    // Every DATA payload counts against the connection window, whatever its stream (§6.9).
    this.#flow.consume(header.length);
    const span = this.#span;
    parseDataPayload(buf, at, header, span);
    const stream = this.table.get(id);
    if (stream === undefined) return this.#lateFrame(id, "DATA");
    if (stream.remoteEnded) throw streamError("STREAM_CLOSED", id, "DATA after END_STREAM");
    stream.recvWindow -= header.length;
    if (stream.recvWindow < 0) {
      throw streamError("FLOW_CONTROL_ERROR", id, "DATA beyond the window");
    }
    const length = span.end - span.start;
    const endStream = (header.flags & FRAME_FLAG.END_STREAM) !== 0;
    if (length === 0 && !endStream) this.flood.count(FLOOD.EMPTY_DATA, this.#clock.nowMs);
    stream.receivedBytes += length;
    if (stream.contentLengthBytes >= 0 && stream.receivedBytes > stream.contentLengthBytes) {
      throw streamError("PROTOCOL_ERROR", id, "DATA beyond content-length");
    }
    if (length > 0 && stream.handler !== null) {
      try {
        stream.handler.onData(buf.subarray(span.start, span.end));
      } catch (error) {
        return this.#life.handlerFailed(stream, error);
      }
    }
    if (endStream && !stream.closed) this.#endRemote(stream);
  }

  /** A DATA or HEADERS frame for a stream that is not open (RFC 9113 §5.1). */
  #lateFrame(id: number, what: string): void {
    if (id > this.table.lastPeerStreamId) {
      throw new H2Error("PROTOCOL_ERROR", `${what} on idle stream ${id}`);
    }
    switch (this.table.closedHow(id)) {
      case CLOSED.OUR_RESET:
        return; // the peer may not have seen our RST_STREAM yet: ignored
      case CLOSED.ENDED:
        throw new H2Error("STREAM_CLOSED", `${what} on stream ${id} after END_STREAM`);
      case CLOSED.PEER_RESET:
        throw streamError("STREAM_CLOSED", id, `${what} after RST_STREAM`);
    }
    if (what === "DATA") throw streamError("STREAM_CLOSED", id, "DATA on a closed stream");
    throw new H2Error("PROTOCOL_ERROR", `${what} on stream ${id}, below the last one opened`);
  }

  /** The peer ended its side: checks content-length and tells the handler. */
  #endRemote(stream: H2Stream): void {
    if (stream.contentLengthBytes >= 0 && stream.receivedBytes !== stream.contentLengthBytes) {
      throw streamError(
        "PROTOCOL_ERROR",
        stream.id,
        `body of ${stream.receivedBytes} bytes, content-length ${stream.contentLengthBytes}`,
      );
    }
    stream.remoteEnded = true;
    if (stream.response === RESPONSE.COMPLETE) this.#life.close(stream, CLOSED.ENDED);
    if (stream.handler === null) return;
    try {
      stream.handler.onEnd();
    } catch (error) {
      this.#life.handlerFailed(stream, error);
    }
  }

  // --- HEADERS and CONTINUATION. ---

  #onHeaders(buf: Uint8Array, at: number): void {
    const header = this.#header;
    const id = header.streamId;
    if ((id & 1) === 0) throw new H2Error("PROTOCOL_ERROR", `HEADERS on even stream ${id}`);
    const span = this.#span;
    parseHeadersPayload(buf, at, header, span);
    const endStream = (header.flags & FRAME_FLAG.END_STREAM) !== 0;
    const selfDependent = span.dependsOn === id;
    if ((header.flags & FRAME_FLAG.END_HEADERS) !== 0) {
      return this.#onHeaderBlock(id, buf, span.start, span.end, endStream, selfDependent);
    }
    const nowMs = this.#clock.nowMs;
    this.blocks.begin(id, endStream, selfDependent, buf, span.start, span.end, nowMs);
    this.#owner.deadlineAt(nowMs + this.#limits.headerBlockTimeoutMs);
  }

  #onContinuation(buf: Uint8Array, at: number): void {
    const header = this.#header;
    const blocks = this.blocks;
    if (blocks.streamId === 0) throw new H2Error("PROTOCOL_ERROR", "CONTINUATION without HEADERS");
    if (header.streamId !== blocks.streamId) {
      throw new H2Error("PROTOCOL_ERROR", `CONTINUATION on stream ${header.streamId}`);
    }
    blocks.append(buf, at, at + header.length);
    if ((header.flags & FRAME_FLAG.END_HEADERS) === 0) return;
    const { streamId, endStream, selfDependent, length } = blocks;
    blocks.finish();
    this.#onHeaderBlock(streamId, blocks.buffer, 0, length, endStream, selfDependent);
  }

  #onHeaderBlock(
    id: number,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
    selfDependent: boolean,
  ): void {
    const stream = this.table.get(id);
    if (stream !== undefined) return this.#onTrailers(stream, buf, start, end, endStream);
    if (id <= this.table.lastPeerStreamId) {
      this.blocks.decodeDiscard(buf, start, end);
      return this.#lateFrame(id, "HEADERS");
    }
    this.table.lastPeerStreamId = id;
    this.table.openedCount++;
    const parsed = this.blocks.decodeRequest(buf, start, end, id);
    if (selfDependent) throw streamError("PROTOCOL_ERROR", id, "stream depends on itself");
    if (this.goawaySent) return this.#refuse(id, false);
    if (parsed === null) return this.#headTooLarge(id, endStream);
    const limits = this.#limits;
    if (
      this.table.size >= limits.maxConcurrentStreams ||
      this.table.heldHeadBytes + parsed.sizeBytes > limits.heldHeadBytesMax
    ) {
      return this.#refuse(id, true);
    }
    if (endStream && parsed.contentLengthBytes > 0) {
      throw streamError("PROTOCOL_ERROR", id, "content-length with no DATA");
    }
    const opened = new H2Stream(
      id,
      this.sender,
      this.sender.peer.initialWindowBytes,
      this.#flow.initialStreamWindow,
    );
    opened.headBytes = parsed.sizeBytes;
    opened.contentLengthBytes = parsed.contentLengthBytes;
    opened.remoteEnded = endStream;
    this.table.open(opened);
    try {
      opened.handler = this.#handler.onRequest(new RequestHead(id, parsed, endStream), opened);
    } catch (error) {
      this.#life.handlerFailed(opened, error);
    }
    if (id + 2 > STREAM_ID_MAX || this.table.openedCount >= limits.streamsPerConnectionMax) {
      this.#owner.onStreamsExhausted();
    }
  }

  #onTrailers(
    stream: H2Stream,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
  ): void {
    if (stream.remoteEnded) {
      this.blocks.decodeDiscard(buf, start, end);
      throw streamError("STREAM_CLOSED", stream.id, "HEADERS after END_STREAM");
    }
    this.blocks.decodeTrailers(buf, start, end, stream.id);
    if (!endStream) throw streamError("PROTOCOL_ERROR", stream.id, "trailers without END_STREAM");
    this.#endRemote(stream);
  }

  /** REFUSED_STREAM: the peer may retry the request (RFC 9113 §8.7). */
  #refuse(id: number, counted: boolean): void {
    if (counted) this.flood.count(FLOOD.REFUSED_STREAM, this.#clock.nowMs);
    this.sender.output.rstStream(id, H2_ERROR.REFUSED_STREAM);
    this.table.remember(id, CLOSED.OUR_RESET);
  }

  /** A head over SETTINGS_MAX_HEADER_LIST_SIZE is answered 431 by the engine itself. */
  #headTooLarge(id: number, endStream: boolean): void {
    this.flood.count(FLOOD.STREAM_ERROR, this.#clock.nowMs);
    this.sender.respondWithoutStream(id, 431);
    if (!endStream) this.sender.output.rstStream(id, H2_ERROR.NO_ERROR);
    this.table.remember(id, endStream ? CLOSED.ENDED : CLOSED.OUR_RESET);
    this.sender.scheduleFlush();
  }

  // --- RST_STREAM, SETTINGS, WINDOW_UPDATE. ---

  #onRstStream(buf: Uint8Array, at: number): void {
    const id = this.#header.streamId;
    this.flood.count(FLOOD.RESET, this.#clock.nowMs);
    const stream = this.table.get(id);
    if (stream === undefined) {
      if (id > this.table.lastPeerStreamId) {
        throw new H2Error("PROTOCOL_ERROR", `RST_STREAM on idle stream ${id}`);
      }
      return;
    }
    const code = readU32(buf, at);
    const name: H2ErrorCodeName = h2ErrorCodeName(code) ?? "INTERNAL_ERROR";
    this.#life.abort(
      stream,
      streamError(name, id, `the peer reset stream ${id} (code ${code})`),
      CLOSED.PEER_RESET,
    );
  }

  #onSettings(buf: Uint8Array, at: number): void {
    const header = this.#header;
    if ((header.flags & FRAME_FLAG.ACK) !== 0) return this.#onSettingsAck();
    this.flood.count(FLOOD.SETTINGS, this.#clock.nowMs);
    const peer = this.sender.peer;
    const tableChanges = peer.headerTableChanges;
    const delta = applySettingsPayload(buf, at, header.length, peer);
    if (delta !== 0) {
      // RFC 9113 §6.9.2: the change applies to every open stream's send window.
      this.table.forEach((stream) => {
        stream.sendWindow += delta;
        if (stream.sendWindow > WINDOW_MAX_BYTES) {
          throw new H2Error("FLOW_CONTROL_ERROR", `stream ${stream.id} window passes 2^31-1`);
        }
      });
    }
    if (peer.headerTableChanges !== tableChanges) this.sender.peerTableSizeChanged();
    this.sender.output.settingsAck();
    if (delta > 0) this.sender.scheduleFlush();
  }

  #onSettingsAck(): void {
    if (this.settingsSentAtMs === 0) return;
    this.settingsSentAtMs = 0;
    this.blocks.decoder.settingsAcknowledged();
    const delta = this.#flow.settingsAcknowledged();
    if (delta !== 0) this.table.forEach((stream) => stream.recvWindow += delta);
  }

  #onWindowUpdate(buf: Uint8Array, at: number): void {
    const header = this.#header;
    const nowMs = this.#clock.nowMs;
    const sent = this.sender.dataFramesSent;
    this.flood.credit(FLOOD.WINDOW_UPDATE, sent - this.#dataFramesCredited, nowMs);
    this.#dataFramesCredited = sent;
    this.flood.count(FLOOD.WINDOW_UPDATE, nowMs);
    const increment = parseWindowUpdatePayload(buf, at, header);
    const id = header.streamId;
    if (id === 0) {
      this.sender.connectionWindow += increment;
      if (this.sender.connectionWindow > WINDOW_MAX_BYTES) {
        throw new H2Error("FLOW_CONTROL_ERROR", "the connection window passes 2^31-1");
      }
      return this.sender.scheduleFlush();
    }
    const stream = this.table.get(id);
    if (stream === undefined) {
      if (id > this.table.lastPeerStreamId) {
        throw new H2Error("PROTOCOL_ERROR", `WINDOW_UPDATE on idle stream ${id}`);
      }
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > WINDOW_MAX_BYTES) {
      throw streamError("FLOW_CONTROL_ERROR", id, "the stream window passes 2^31-1");
    }
    this.sender.scheduleFlush();
  }

  /** GOAWAY carrying the last stream we will process; new streams are refused from now. */
  sendGoaway(code: number, debug: Uint8Array): void {
    this.goawaySent = true;
    this.sender.output.goaway(this.table.lastPeerStreamId, code, debug);
  }

  /** Resets lingering early-answered streams whose upload did not end in time (lifecycle.ts). */
  resetLingering(nowMs: number): number {
    return this.#life.resetLingering(nowMs);
  }

  /** Resets every stream whose response waited for a window since before `sinceMs`. */
  resetStalled(sinceMs: number): void {
    this.#life.resetStalled(sinceMs);
  }

  /** The connection ended: every open stream is aborted with `error`. */
  abortAll(error: Error): void {
    this.#life.abortAll(error);
  }
}
