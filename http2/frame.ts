/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-byte frame header, the fixed-format checks of every
 * frame type, payload parsing in place (padding and priority fields removed from DATA and
 * HEADERS), and encoders that write frames straight into an output buffer.
 *
 * Parsing allocates nothing: the header goes into a caller-owned {@link FrameHeader} and a
 * padded payload's bounds into a caller-owned {@link PayloadSpan}, both reused for every frame
 * of a connection. Malformed input throws {@link H2Error} with the code RFC 9113 names.
 *
 * @example
 * ```ts
 * import { FRAME_TYPE, FrameHeader, encodeFrame, parseFrameHeader } from "./frame.ts";
 * const bytes = encodeFrame(FRAME_TYPE.PING, 0, 0, new Uint8Array(8));
 * const header = new FrameHeader();
 * parseFrameHeader(bytes, 0, header); // header.type === 6, header.length === 8
 * ```
 * @module
 */

import { H2Error, streamError } from "./errors.ts";

/** Bytes of a frame header (RFC 9113 §4.1). */
export const FRAME_HEADER_BYTES = 9;

/** The client connection preface (RFC 9113 §3.4), before its SETTINGS frame. */
export const CONNECTION_PREFACE: Uint8Array = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
);

/** Frame types (RFC 9113 §6; PRIORITY_UPDATE is RFC 9218 §7.1). */
export const FRAME_TYPE = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
  PRIORITY_UPDATE: 0x10,
} as const;

/** Frame flags (RFC 9113 §6); ACK shares END_STREAM's bit on SETTINGS and PING. */
export const FRAME_FLAG = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** The smallest and largest SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2). */
export const FRAME_SIZE_MIN_BYTES = 16384;
export const FRAME_SIZE_MAX_BYTES = 16777215;

/** The largest stream ID and flow-control window (2^31 - 1). */
export const STREAM_ID_MAX = 0x7fffffff;
export const WINDOW_MAX_BYTES = 0x7fffffff;

const PRIORITY_FIELD_BYTES = 5;

/**
 * One frame header, reused for every frame of a connection.
 *
 * @example
 * ```ts
 * const header = new FrameHeader();
 * parseFrameHeader(new Uint8Array([0, 0, 8, 6, 0, 0, 0, 0, 0]), 0, header);
 * ```
 */
export class FrameHeader {
  /** Payload length in bytes (24 bits). */
  length = 0;
  type = 0;
  flags = 0;
  /** Stream identifier with the reserved bit cleared (RFC 9113 §4.1: ignored on receipt). */
  streamId = 0;
}

/** Bounds of a payload's content within the read buffer, reused across frames. */
export class PayloadSpan {
  start = 0;
  end = 0;
  /** HEADERS with PRIORITY: the stream it depends on (-1 when absent). */
  dependsOn = -1;
}

/**
 * Reads the 9-byte header at `at` into `out` (the caller has checked 9 bytes are there).
 *
 * @example
 * ```ts
 * parseFrameHeader(buf, 0, header);
 * ```
 */
export function parseFrameHeader(buf: Uint8Array, at: number, out: FrameHeader): void {
  out.length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
  out.type = buf[at + 3];
  out.flags = buf[at + 4];
  out.streamId =
    ((buf[at + 5] & 0x7f) << 24 | buf[at + 6] << 16 | buf[at + 7] << 8 | buf[at + 8]) >>>
    0;
}

/** Reads a big-endian u32 at `at`. */
export function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

/** Writes a big-endian u32 at `at`. */
export function writeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

function requireConnectionStream(header: FrameHeader, name: string): void {
  if (header.streamId !== 0) {
    throw new H2Error("PROTOCOL_ERROR", `${name} on stream ${header.streamId}, not 0`);
  }
}

function requireStream(header: FrameHeader, name: string): void {
  if (header.streamId === 0) throw new H2Error("PROTOCOL_ERROR", `${name} on stream 0`);
}

function requireLength(header: FrameHeader, name: string, bytes: number): void {
  if (header.length !== bytes) {
    throw new H2Error("FRAME_SIZE_ERROR", `${name} length ${header.length} is not ${bytes}`);
  }
}

/**
 * The checks of RFC 9113 §4.2 and §6 that need only the header: the size against our
 * SETTINGS_MAX_FRAME_SIZE, which frames need stream 0 or a stream, fixed lengths. A server
 * receiving PUSH_PROMISE is a PROTOCOL_ERROR (§8.4). Unknown types pass (they are ignored).
 *
 * @example
 * ```ts
 * checkFrameHeader(header, 16384); // throws H2Error("FRAME_SIZE_ERROR", ...) for a 16385-byte frame
 * ```
 */
export function checkFrameHeader(header: FrameHeader, maxFrameSizeBytes: number): void {
  if (header.length > maxFrameSizeBytes) {
    throw new H2Error(
      "FRAME_SIZE_ERROR",
      `frame length ${header.length} exceeds ${maxFrameSizeBytes}`,
    );
  }
  switch (header.type) {
    case FRAME_TYPE.DATA:
      return requireStream(header, "DATA");
    case FRAME_TYPE.HEADERS:
      return requireStream(header, "HEADERS");
    case FRAME_TYPE.PRIORITY:
      requireStream(header, "PRIORITY");
      if (header.length !== PRIORITY_FIELD_BYTES) {
        throw streamError("FRAME_SIZE_ERROR", header.streamId, "PRIORITY length is not 5");
      }
      return;
    case FRAME_TYPE.RST_STREAM:
      requireStream(header, "RST_STREAM");
      return requireLength(header, "RST_STREAM", 4);
    case FRAME_TYPE.SETTINGS:
      return checkSettingsHeader(header);
    case FRAME_TYPE.PUSH_PROMISE:
      throw new H2Error("PROTOCOL_ERROR", "PUSH_PROMISE sent by a client");
    case FRAME_TYPE.PING:
      requireConnectionStream(header, "PING");
      return requireLength(header, "PING", 8);
    case FRAME_TYPE.GOAWAY:
      requireConnectionStream(header, "GOAWAY");
      if (header.length < 8) throw new H2Error("FRAME_SIZE_ERROR", "GOAWAY shorter than 8");
      return;
    case FRAME_TYPE.WINDOW_UPDATE:
      return requireLength(header, "WINDOW_UPDATE", 4);
    case FRAME_TYPE.CONTINUATION:
      return requireStream(header, "CONTINUATION");
    case FRAME_TYPE.PRIORITY_UPDATE:
      requireConnectionStream(header, "PRIORITY_UPDATE");
      if (header.length < 4) throw new H2Error("FRAME_SIZE_ERROR", "PRIORITY_UPDATE too short");
      return;
  }
}

function checkSettingsHeader(header: FrameHeader): void {
  requireConnectionStream(header, "SETTINGS");
  if ((header.flags & FRAME_FLAG.ACK) !== 0 && header.length !== 0) {
    throw new H2Error("FRAME_SIZE_ERROR", `SETTINGS ACK with length ${header.length}`);
  }
  if (header.length % 6 !== 0) {
    throw new H2Error("FRAME_SIZE_ERROR", `SETTINGS length ${header.length} is not 6 * n`);
  }
}

/**
 * Bounds of a DATA payload without its padding (RFC 9113 §6.1), the payload starting at `at`.
 *
 * @example
 * ```ts
 * parseDataPayload(buf, at, header, span); // buf.subarray(span.start, span.end) is the data
 * ```
 */
export function parseDataPayload(
  buf: Uint8Array,
  at: number,
  header: FrameHeader,
  out: PayloadSpan,
): void {
  out.start = at;
  out.end = at + header.length;
  if ((header.flags & FRAME_FLAG.PADDED) !== 0) removePadding(buf, out, "DATA");
}

/**
 * Bounds of a HEADERS payload's field block fragment, without padding and priority fields
 * (RFC 9113 §6.2); `out.dependsOn` is the priority dependency, or -1. A stream that depends
 * on itself is a stream error PROTOCOL_ERROR (§5.3.1), which the caller raises only after the
 * block was decoded: the HPACK state must see every block.
 *
 * @example
 * ```ts
 * parseHeadersPayload(buf, at, header, span);
 * ```
 */
export function parseHeadersPayload(
  buf: Uint8Array,
  at: number,
  header: FrameHeader,
  out: PayloadSpan,
): void {
  out.start = at;
  out.end = at + header.length;
  out.dependsOn = -1;
  if ((header.flags & FRAME_FLAG.PADDED) !== 0) removePadding(buf, out, "HEADERS");
  if ((header.flags & FRAME_FLAG.PRIORITY) !== 0) {
    if (out.end - out.start < PRIORITY_FIELD_BYTES) {
      throw new H2Error("FRAME_SIZE_ERROR", "HEADERS too short for its priority fields");
    }
    out.dependsOn = readU32(buf, out.start) & STREAM_ID_MAX;
    out.start += PRIORITY_FIELD_BYTES;
  }
}

/**
 * The stream a PRIORITY frame's payload (5 bytes at `at`) depends on; depending on itself is a
 * stream error PROTOCOL_ERROR (RFC 9113 §5.3.1). Priorities are otherwise ignored (§5.3.2).
 *
 * @example
 * ```ts
 * parsePriorityPayload(buf, at, header);
 * ```
 */
export function parsePriorityPayload(buf: Uint8Array, at: number, header: FrameHeader): number {
  const dependsOn = readU32(buf, at) & STREAM_ID_MAX;
  if (dependsOn === header.streamId) {
    throw streamError("PROTOCOL_ERROR", header.streamId, "stream depends on itself");
  }
  return dependsOn;
}

/** The first payload byte is the pad length; padding must leave the rest (RFC 9113 §6.1). */
function removePadding(buf: Uint8Array, span: PayloadSpan, name: string): void {
  if (span.end === span.start) throw new H2Error("FRAME_SIZE_ERROR", `${name} PADDED but empty`);
  const padBytes = buf[span.start];
  span.start++;
  if (padBytes > span.end - span.start) {
    throw new H2Error(
      "PROTOCOL_ERROR",
      `${name} padding ${padBytes} exceeds its payload ${span.end - span.start}`,
    );
  }
  span.end -= padBytes;
}

/**
 * The window increment of a WINDOW_UPDATE payload (4 bytes at `at`); 0 is a PROTOCOL_ERROR,
 * a stream error unless on stream 0 (RFC 9113 §6.9).
 *
 * @example
 * ```ts
 * parseWindowUpdatePayload(buf, at, header); // 1..2^31-1
 * ```
 */
export function parseWindowUpdatePayload(
  buf: Uint8Array,
  at: number,
  header: FrameHeader,
): number {
  const increment = readU32(buf, at) & WINDOW_MAX_BYTES;
  if (increment === 0) {
    if (header.streamId === 0) throw new H2Error("PROTOCOL_ERROR", "WINDOW_UPDATE of 0");
    throw streamError("PROTOCOL_ERROR", header.streamId, "WINDOW_UPDATE of 0");
  }
  return increment;
}

// --- Encoders: each writes one whole frame into `out` at `at` and returns the end offset. ---

/**
 * Writes a frame header at `at`; returns `at + 9`.
 *
 * @example
 * ```ts
 * const end = writeFrameHeader(out, 0, 8, FRAME_TYPE.PING, FRAME_FLAG.ACK, 0);
 * ```
 */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): number {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  writeU32(out, at + 5, streamId);
  return at + FRAME_HEADER_BYTES;
}

/** Bytes of a RST_STREAM frame and of a WINDOW_UPDATE frame. */
export const RST_STREAM_FRAME_BYTES = 13;
export const WINDOW_UPDATE_FRAME_BYTES = 13;
/** Bytes of a PING frame, and of a GOAWAY frame without debug data. */
export const PING_FRAME_BYTES = 17;
export const GOAWAY_FRAME_BYTES_MIN = 17;

/**
 * Writes RST_STREAM(`code`) for `streamId`.
 *
 * @example
 * ```ts
 * writeRstStream(out, 0, 1, H2_ERROR.CANCEL); // 13
 * ```
 */
export function writeRstStream(
  out: Uint8Array,
  at: number,
  streamId: number,
  code: number,
): number {
  at = writeFrameHeader(out, at, 4, FRAME_TYPE.RST_STREAM, 0, streamId);
  writeU32(out, at, code);
  return at + 4;
}

/**
 * Writes WINDOW_UPDATE(`increment`) for `streamId` (0: the connection).
 *
 * @example
 * ```ts
 * writeWindowUpdate(out, 0, 0, 1 << 20); // 13
 * ```
 */
export function writeWindowUpdate(
  out: Uint8Array,
  at: number,
  streamId: number,
  increment: number,
): number {
  at = writeFrameHeader(out, at, 4, FRAME_TYPE.WINDOW_UPDATE, 0, streamId);
  writeU32(out, at, increment);
  return at + 4;
}

/**
 * Writes a PING with the 8 opaque bytes at `opaque[from]` (an ACK echoes the peer's).
 *
 * @example
 * ```ts
 * writePing(out, 0, true, readBuffer, payloadAt); // 17
 * ```
 */
export function writePing(
  out: Uint8Array,
  at: number,
  ack: boolean,
  opaque: Uint8Array,
  from: number,
): number {
  at = writeFrameHeader(out, at, 8, FRAME_TYPE.PING, ack ? FRAME_FLAG.ACK : 0, 0);
  for (let i = 0; i < 8; i++) out[at + i] = opaque[from + i];
  return at + 8;
}

/**
 * Writes GOAWAY(`lastStreamId`, `code`) with optional debug bytes.
 *
 * @example
 * ```ts
 * writeGoaway(out, 0, 7, H2_ERROR.NO_ERROR, new Uint8Array(0)); // 17
 * ```
 */
export function writeGoaway(
  out: Uint8Array,
  at: number,
  lastStreamId: number,
  code: number,
  debug: Uint8Array,
): number {
  at = writeFrameHeader(out, at, 8 + debug.length, FRAME_TYPE.GOAWAY, 0, 0);
  writeU32(out, at, lastStreamId);
  writeU32(out, at + 4, code);
  out.set(debug, at + 8);
  return at + 8 + debug.length;
}

/**
 * One whole frame as a new array (tests, fuzzers, and clients; the server writes in place).
 *
 * @example
 * ```ts
 * encodeFrame(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0); // 9 bytes
 * ```
 */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (payload.length > FRAME_SIZE_MAX_BYTES) {
    throw new RangeError(`Cannot encode frame: length ${payload.length} exceeds 2^24 - 1`);
  }
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
    throw new RangeError(`Cannot encode frame: stream ID ${streamId} is not a u32`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}
