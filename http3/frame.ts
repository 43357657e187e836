/**
 * HTTP/3 frames (RFC 9114 §7): an incremental parser for the bytes of one stream, and encoders
 * for the frames a server sends. Stream type codes (§6.2) live here too.
 *
 * The parser takes chunks as they arrive ({@link FrameParser.push}) and hands out frames
 * ({@link FrameParser.next}) until it returns `undefined` ("need more bytes"). DATA payloads are
 * handed out in pieces as they arrive (views into the pushed chunks, no copy), so a large DATA
 * frame is never buffered whole. Other frames are buffered up to a per-type limit (a payload
 * that arrived within one chunk is handed out as a view of it, without a copy). Reserved
 * (GREASE) and unknown frame types are skipped by their length without buffering. Every protocol
 * violation throws {@link H3Error} (H3_FRAME_UNEXPECTED, H3_FRAME_ERROR, H3_MISSING_SETTINGS,
 * H3_SETTINGS_ERROR, H3_EXCESSIVE_LOAD).
 *
 * @example
 * ```ts
 * import { encodeHeadersFrame, FrameParser } from "./frame.ts";
 * const parser = new FrameParser({ streamKind: "request", role: "server" });
 * parser.push(encodeHeadersFrame(new Uint8Array([0x00, 0x00, 0xd1])));
 * for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
 *   if (frame.type === "headers") console.log(frame.fieldSection); // Uint8Array [0, 0, 0xd1]
 * }
 * parser.finish(); // at the stream's FIN: throws H3_FRAME_ERROR if a frame was cut off
 * ```
 * @module
 */

import { H3Error } from "./errors.ts";
import { parseSettingsPayload, serializeSettingsPayload, type Settings } from "./settings.ts";
import {
  readVarint,
  varintLength,
  varintLengthFromFirstByte,
  varintValueAt,
  writeVarint,
} from "./varint.ts";

/** Frame type codes (RFC 9114 §7.2, RFC 9218 §7.2). */
export const FRAME_TYPE = {
  DATA: 0x00,
  HEADERS: 0x01,
  CANCEL_PUSH: 0x03,
  SETTINGS: 0x04,
  PUSH_PROMISE: 0x05,
  GOAWAY: 0x07,
  MAX_PUSH_ID: 0x0d,
  PRIORITY_UPDATE_REQUEST: 0xf0700,
  PRIORITY_UPDATE_PUSH: 0xf0701,
} as const;

/** HTTP/2 frame types that are an error in HTTP/3 (RFC 9114 §7.2.8). */
const HTTP2_ONLY_FRAME_TYPES: ReadonlySet<number> = new Set([0x02, 0x06, 0x08, 0x09]);

/** Unidirectional stream type codes (RFC 9114 §6.2, RFC 9204 §4.2). */
export const STREAM_TYPE = {
  CONTROL: 0x00,
  PUSH: 0x01,
  QPACK_ENCODER: 0x02,
  QPACK_DECODER: 0x03,
} as const;

/** One parsed frame (or, for DATA, one piece of a frame). */
export type Frame =
  /** `bytes` views the pushed chunk: consume it before pushing again if the chunk is reused. */
  | { type: "data"; bytes: Uint8Array; frameEnd: boolean }
  | { type: "headers"; fieldSection: Uint8Array }
  | { type: "settings"; settings: Settings }
  | { type: "goaway"; id: number }
  | { type: "cancel_push"; pushId: number }
  | { type: "max_push_id"; pushId: number }
  | { type: "push_promise"; pushId: number; fieldSection: Uint8Array }
  | {
    type: "priority_update";
    elementType: "request" | "push";
    elementId: number;
    priorityFieldValue: string;
  };

/** Which stream the parser reads; decides which frame types are allowed. */
export type StreamKind = "control" | "request" | "push";

/** Options of {@link FrameParser}. */
export interface FrameParserOptions {
  streamKind: StreamKind;
  /** Our role: a server never receives PUSH_PROMISE, a client never receives MAX_PUSH_ID. */
  role: "server" | "client";
  /** HEADERS/PUSH_PROMISE payload limit (our MAX_FIELD_SECTION_SIZE-ish); default 65536. */
  headersBytesMax?: number;
  /** SETTINGS payload limit; default 4096. */
  settingsBytesMax?: number;
  /** PRIORITY_UPDATE payload limit; default 1024. */
  priorityUpdateBytesMax?: number;
}

type State =
  | { kind: "header" }
  | { kind: "data"; remaining: number }
  | { kind: "skip"; remaining: number }
  | { kind: "payload"; frameType: number; buffer: Uint8Array; filled: number };

/** The state between frames; it has no fields, so every parser shares this one object. */
const HEADER_STATE: State = { kind: "header" };

/** The parser's input before the first push (never written: it has no bytes). */
const NO_BYTES = new Uint8Array(0);

const STREAM_KINDS: ReadonlySet<string> = new Set<StreamKind>(["control", "request", "push"]);

/** Request-stream message progress, for frame ordering (RFC 9114 §4.1). */
type MessagePhase = "start" | "body" | "trailers";

/**
 * Incremental frame parser for one stream. Not reentrant; one per stream.
 *
 * @example
 * ```ts
 * const control = new FrameParser({ streamKind: "control", role: "server" });
 * control.push(encodeSettingsFrame({ qpackMaxTableCapacity: 0 }));
 * control.next(); // { type: "settings", settings: { qpackMaxTableCapacity: 0, ... } }
 * ```
 */
export class FrameParser {
  readonly #kind: StreamKind;
  readonly #role: "server" | "client";
  readonly #headersBytesMax: number;
  readonly #settingsBytesMax: number;
  readonly #priorityUpdateBytesMax: number;
  #pending: Uint8Array = NO_BYTES;
  #offset = 0;
  #state: State = HEADER_STATE;
  #frameCount = 0;
  #phase: MessagePhase = "start";

  constructor(options: FrameParserOptions) {
    if (!STREAM_KINDS.has(options.streamKind)) {
      throw new TypeError(`Cannot create FrameParser: unknown streamKind ${options.streamKind}`);
    }
    this.#kind = options.streamKind;
    this.#role = options.role;
    this.#headersBytesMax = positiveLimit("headersBytesMax", options.headersBytesMax, 65536);
    this.#settingsBytesMax = positiveLimit("settingsBytesMax", options.settingsBytesMax, 4096);
    this.#priorityUpdateBytesMax = positiveLimit(
      "priorityUpdateBytesMax",
      options.priorityUpdateBytesMax,
      1024,
    );
  }

  /** Bytes pushed but not yet handed out or skipped. */
  get bufferedBytes(): number {
    const state = this.#state;
    const inPayload = state.kind === "payload" ? state.filled : 0;
    return this.#pending.length - this.#offset + inPayload;
  }

  /**
   * Appends a chunk of stream bytes; call {@link next} until it returns undefined after each.
   * The parser may keep views of `chunk`: do not modify it afterwards.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const rest = this.#pending.length - this.#offset;
    if (rest === 0) {
      this.#pending = chunk;
    } else {
      // Only a partial frame header (at most 15 bytes) or an undrained chunk is left over.
      const joined = new Uint8Array(rest + chunk.length);
      joined.set(this.#pending.subarray(this.#offset));
      joined.set(chunk, rest);
      this.#pending = joined;
    }
    this.#offset = 0;
  }

  /**
   * Copies the bytes pushed but not yet handed out, so the parser keeps no view of the chunks
   * pushed so far (their memory may then be reused).
   */
  ownPending(): void {
    // A partly filled payload is already the parser's own buffer (views are made only of
    // payloads that arrived whole, and those are handed out at once).
    this.#pending = this.#pending.slice(this.#offset);
    this.#offset = 0;
  }

  /** The next frame or DATA piece, or undefined when more bytes are needed. */
  next(): Frame | undefined {
    // Each pass consumes bytes, changes state or returns, so the loop ends with the input.
    for (;;) {
      if (this.#state.kind === "header") {
        if (!this.#readHeader()) return undefined;
        continue;
      }
      if (this.#offset >= this.#pending.length && !this.#zeroLengthReady()) return undefined;
      const frame = this.#step();
      if (frame !== undefined) return frame;
    }
  }

  /**
   * Call at the stream's end (FIN). Throws H3_FRAME_ERROR when the stream ended inside a frame.
   */
  finish(): void {
    if (this.#state.kind !== "header" || this.#offset < this.#pending.length) {
      throw new H3Error("H3_FRAME_ERROR", "stream ended inside a frame");
    }
  }

  #zeroLengthReady(): boolean {
    const state = this.#state;
    return (state.kind === "data" || state.kind === "skip") && state.remaining === 0 ||
      state.kind === "payload" && state.filled === state.buffer.length;
  }

  #step(): Frame | undefined {
    const state = this.#state;
    switch (state.kind) {
      case "header":
        return undefined;
      case "data": {
        const take = Math.min(state.remaining, this.#pending.length - this.#offset);
        const bytes = this.#pending.subarray(this.#offset, this.#offset + take);
        this.#offset += take;
        state.remaining -= take;
        const frameEnd = state.remaining === 0;
        if (frameEnd) this.#state = HEADER_STATE;
        return { type: "data", bytes, frameEnd };
      }
      case "skip": {
        const take = Math.min(state.remaining, this.#pending.length - this.#offset);
        this.#offset += take;
        state.remaining -= take;
        if (state.remaining === 0) this.#state = HEADER_STATE;
        return undefined;
      }
      case "payload": {
        const take = Math.min(
          state.buffer.length - state.filled,
          this.#pending.length - this.#offset,
        );
        state.buffer.set(this.#pending.subarray(this.#offset, this.#offset + take), state.filled);
        this.#offset += take;
        state.filled += take;
        if (state.filled < state.buffer.length) return undefined;
        this.#state = HEADER_STATE;
        return this.#decodePayload(state.frameType, state.buffer);
      }
    }
  }

  /** Reads a frame header; false (consuming nothing) when it is not complete yet. */
  #readHeader(): boolean {
    // Read in place (readVarint's result objects were two allocations per frame).
    const pending = this.#pending;
    const typeAt = this.#offset;
    if (typeAt >= pending.length) return false;
    const lengthAt = typeAt + varintLengthFromFirstByte(pending[typeAt]);
    if (lengthAt >= pending.length) return false;
    const end = lengthAt + varintLengthFromFirstByte(pending[lengthAt]);
    if (end > pending.length) return false;
    this.#offset = end;
    this.#beginFrame(
      varintValueAt(pending, typeAt, lengthAt),
      varintValueAt(pending, lengthAt, end),
    );
    return true;
  }

  #beginFrame(frameType: number, length: number): void {
    this.#checkAllowed(frameType);
    this.#frameCount++;
    if (frameType === FRAME_TYPE.DATA) {
      this.#state = { kind: "data", remaining: checkSkippable(length) };
      return;
    }
    const limit = this.#payloadLimit(frameType);
    if (limit === undefined) {
      this.#state = { kind: "skip", remaining: checkSkippable(length) };
      return;
    }
    if (length > limit) {
      // Too large a field section on a request stream costs that request only (the adapter can
      // reset it or answer 431, RFC 9114 §4.2.2); on the control stream it ends the connection.
      const scope = this.#kind === "control" ? "connection" : "stream";
      throw new H3Error(
        "H3_EXCESSIVE_LOAD",
        `frame 0x${frameType.toString(16)} length ${length} exceeds ${limit}`,
        { scope },
      );
    }
    // A payload within the chunk is a view of it, not a copy (pushed chunks are never modified).
    const filled = this.#offset + length <= this.#pending.length ? length : 0;
    const buffer = filled > 0
      ? this.#pending.subarray(this.#offset, this.#offset + length)
      : new Uint8Array(length);
    this.#offset += filled;
    this.#state = { kind: "payload", frameType, buffer, filled };
  }

  #payloadLimit(frameType: number): number | undefined {
    switch (frameType) {
      case FRAME_TYPE.HEADERS:
        return this.#headersBytesMax;
      case FRAME_TYPE.PUSH_PROMISE:
        return this.#headersBytesMax + 8;
      case FRAME_TYPE.SETTINGS:
        return this.#settingsBytesMax;
      case FRAME_TYPE.GOAWAY:
      case FRAME_TYPE.CANCEL_PUSH:
      case FRAME_TYPE.MAX_PUSH_ID:
        return 8;
      case FRAME_TYPE.PRIORITY_UPDATE_REQUEST:
      case FRAME_TYPE.PRIORITY_UPDATE_PUSH:
        return this.#priorityUpdateBytesMax;
      default:
        return undefined;
    }
  }

  #checkAllowed(frameType: number): void {
    // The type's name is built only when an error needs it (it was a string per frame).
    if (this.#kind === "control") {
      if (this.#frameCount === 0 && frameType !== FRAME_TYPE.SETTINGS) {
        throw new H3Error(
          "H3_MISSING_SETTINGS",
          `first control frame is ${frameTypeName(frameType)}, not SETTINGS`,
        );
      }
      if (frameType === FRAME_TYPE.SETTINGS && this.#frameCount > 0) {
        throw new H3Error("H3_FRAME_UNEXPECTED", "second SETTINGS frame");
      }
    }
    if (HTTP2_ONLY_FRAME_TYPES.has(frameType)) {
      throw new H3Error("H3_FRAME_UNEXPECTED", `HTTP/2 frame type ${frameTypeName(frameType)}`);
    }
    const controlOnly = frameType === FRAME_TYPE.SETTINGS || frameType === FRAME_TYPE.GOAWAY ||
      frameType === FRAME_TYPE.CANCEL_PUSH || frameType === FRAME_TYPE.MAX_PUSH_ID ||
      frameType === FRAME_TYPE.PRIORITY_UPDATE_REQUEST ||
      frameType === FRAME_TYPE.PRIORITY_UPDATE_PUSH;
    const messageOnly = frameType === FRAME_TYPE.DATA || frameType === FRAME_TYPE.HEADERS ||
      frameType === FRAME_TYPE.PUSH_PROMISE;
    if (controlOnly && this.#kind !== "control" || messageOnly && this.#kind === "control") {
      throw new H3Error(
        "H3_FRAME_UNEXPECTED",
        `frame ${frameTypeName(frameType)} on a ${this.#kind} stream`,
      );
    }
    this.#checkRole(frameType);
    if (this.#kind !== "control") this.#checkMessageOrder(frameType);
  }

  #checkRole(frameType: number): void {
    const serverSends = frameType === FRAME_TYPE.PUSH_PROMISE;
    const clientSends = frameType === FRAME_TYPE.MAX_PUSH_ID ||
      frameType === FRAME_TYPE.PRIORITY_UPDATE_REQUEST ||
      frameType === FRAME_TYPE.PRIORITY_UPDATE_PUSH;
    if (serverSends && this.#role === "server" || clientSends && this.#role === "client") {
      throw new H3Error(
        "H3_FRAME_UNEXPECTED",
        `a ${this.#role} received frame ${frameTypeName(frameType)}`,
      );
    }
    if (frameType === FRAME_TYPE.PUSH_PROMISE && this.#kind === "push") {
      throw new H3Error("H3_FRAME_UNEXPECTED", "PUSH_PROMISE on a push stream");
    }
  }

  #checkMessageOrder(frameType: number): void {
    if (frameType === FRAME_TYPE.DATA) {
      if (this.#phase !== "body") {
        throw new H3Error("H3_FRAME_UNEXPECTED", `DATA in message phase ${this.#phase}`);
      }
    } else if (frameType === FRAME_TYPE.HEADERS) {
      if (this.#phase === "start") this.#phase = "body";
      else if (this.#phase === "body" && this.#role === "server") this.#phase = "trailers";
      else if (this.#phase === "trailers") {
        throw new H3Error(
          "H3_FRAME_UNEXPECTED",
          `frame ${frameTypeName(frameType)} after trailers`,
        );
      }
      // A client may see several HEADERS before DATA (interim 1xx responses); the adapter
      // checks their statuses.
    }
  }

  #decodePayload(frameType: number, payload: Uint8Array): Frame | undefined {
    switch (frameType) {
      case FRAME_TYPE.HEADERS:
        return { type: "headers", fieldSection: payload };
      case FRAME_TYPE.SETTINGS:
        return { type: "settings", settings: parseSettingsPayload(payload) };
      case FRAME_TYPE.GOAWAY:
        return { type: "goaway", id: singleVarint(payload, "GOAWAY") };
      case FRAME_TYPE.CANCEL_PUSH:
        return { type: "cancel_push", pushId: singleVarint(payload, "CANCEL_PUSH") };
      case FRAME_TYPE.MAX_PUSH_ID:
        return { type: "max_push_id", pushId: singleVarint(payload, "MAX_PUSH_ID") };
      case FRAME_TYPE.PUSH_PROMISE: {
        const pushId = readVarint(payload, 0);
        if (pushId === undefined) {
          throw new H3Error("H3_FRAME_ERROR", "PUSH_PROMISE without push ID");
        }
        return {
          type: "push_promise",
          pushId: pushId.value,
          fieldSection: payload.subarray(pushId.lengthBytes),
        };
      }
      default:
        return decodePriorityUpdate(frameType, payload);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function decodePriorityUpdate(frameType: number, payload: Uint8Array): Frame {
  const elementId = readVarint(payload, 0);
  if (elementId === undefined) {
    throw new H3Error("H3_FRAME_ERROR", "PRIORITY_UPDATE without element ID");
  }
  return {
    type: "priority_update",
    elementType: frameType === FRAME_TYPE.PRIORITY_UPDATE_REQUEST ? "request" : "push",
    elementId: elementId.value,
    priorityFieldValue: utf8.decode(payload.subarray(elementId.lengthBytes)),
  };
}

function singleVarint(payload: Uint8Array, frameName: string): number {
  const read = readVarint(payload, 0);
  if (read === undefined || read.lengthBytes !== payload.length) {
    throw new H3Error("H3_FRAME_ERROR", `${frameName} payload is not exactly one varint`);
  }
  return read.value;
}

/** A frame type as it appears in error messages, e.g. "0x2". */
function frameTypeName(frameType: number): string {
  return `0x${frameType.toString(16)}`;
}

function checkSkippable(length: number): number {
  if (length > Number.MAX_SAFE_INTEGER) {
    throw new H3Error("H3_EXCESSIVE_LOAD", `frame length ${length} exceeds 2^53-1`);
  }
  return length;
}

function positiveLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot create FrameParser: ${name} ${value} is not a positive integer`);
  }
  return value;
}

/**
 * A frame header (type + length) alone, e.g. to send a DATA payload without copying it.
 *
 * @example
 * ```ts
 * encodeFrameHeader(FRAME_TYPE.DATA, 5); // Uint8Array [0x00, 0x05]
 * ```
 */
export function encodeFrameHeader(frameType: number, payloadLengthBytes: number): Uint8Array {
  const out = new Uint8Array(varintLength(frameType) + varintLength(payloadLengthBytes));
  writeVarint(out, writeVarint(out, 0, frameType), payloadLengthBytes);
  return out;
}

/**
 * A whole frame: header + a copy of `payload`.
 *
 * @example
 * ```ts
 * encodeFrame(FRAME_TYPE.DATA, new Uint8Array([1, 2])); // Uint8Array [0, 2, 1, 2]
 * ```
 */
export function encodeFrame(frameType: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(
    varintLength(frameType) + varintLength(payload.length) + payload.length,
  );
  const offset = writeVarint(out, writeVarint(out, 0, frameType), payload.length);
  out.set(payload, offset);
  return out;
}

/** A DATA frame. @example encodeDataFrame(new TextEncoder().encode("ok")) */
export function encodeDataFrame(payload: Uint8Array): Uint8Array {
  return encodeFrame(FRAME_TYPE.DATA, payload);
}

/** A HEADERS frame around a QPACK field section. @example encodeHeadersFrame(fieldSection) */
export function encodeHeadersFrame(fieldSection: Uint8Array): Uint8Array {
  return encodeFrame(FRAME_TYPE.HEADERS, fieldSection);
}

/**
 * A SETTINGS frame (see settings.ts for the fields).
 *
 * @example
 * ```ts
 * encodeSettingsFrame({ qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16 }, { grease: true });
 * ```
 */
export function encodeSettingsFrame(
  settings: Partial<Settings>,
  options: { grease?: boolean } = {},
): Uint8Array {
  return encodeFrame(FRAME_TYPE.SETTINGS, serializeSettingsPayload(settings, options));
}

/** A GOAWAY frame; a server sends the first request stream ID it will not process. */
export function encodeGoawayFrame(id: number): Uint8Array {
  return encodeFrame(FRAME_TYPE.GOAWAY, encodeVarintPayload(id));
}

/** A CANCEL_PUSH frame. @example encodeCancelPushFrame(0) */
export function encodeCancelPushFrame(pushId: number): Uint8Array {
  return encodeFrame(FRAME_TYPE.CANCEL_PUSH, encodeVarintPayload(pushId));
}

/** A MAX_PUSH_ID frame (clients send it). @example encodeMaxPushIdFrame(0) */
export function encodeMaxPushIdFrame(pushId: number): Uint8Array {
  return encodeFrame(FRAME_TYPE.MAX_PUSH_ID, encodeVarintPayload(pushId));
}

/**
 * A PRIORITY_UPDATE frame for a request stream (clients send it; RFC 9218 §7.2).
 *
 * @example
 * ```ts
 * encodePriorityUpdateFrame(0, "u=1, i");
 * ```
 */
export function encodePriorityUpdateFrame(
  streamId: number,
  priorityFieldValue: string,
): Uint8Array {
  const value = new TextEncoder().encode(priorityFieldValue);
  const payload = new Uint8Array(varintLength(streamId) + value.length);
  payload.set(value, writeVarint(payload, 0, streamId));
  return encodeFrame(FRAME_TYPE.PRIORITY_UPDATE_REQUEST, payload);
}

function encodeVarintPayload(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}
