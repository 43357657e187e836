/**
 * Framing: the stream frame header (segment count and sizes) checked against the bytes that
 * arrived, before any pointer is read.
 *
 * @module
 */
import { CapnpError } from "./errors.ts";
import { READ_LIMITS_DEFAULT, type ReadLimits } from "./limits.ts";
import { MessageReader } from "./reader.ts";
import { viewsOf } from "./_views.ts";

/** The frame of one message: its header size and the segment byte ranges. */
interface Frame {
  readonly frameBytes: number;
  /** Segment bounds, interleaved (start, end) as `MessageReader.segments`. */
  readonly segments: number[];
}

/**
 * Reads a frame header at `offset` of `bytes` and checks it against the bytes that arrived.
 * The segment count is compared with the limit before the segment table is read. Segment
 * positions are absolute in `bytes.buffer`.
 */
function readFrame(bytes: Uint8Array, offset: number, segmentCountMax: number): Frame {
  const available = bytes.length - offset;
  if (available < 8) {
    throw new CapnpError(
      "truncated",
      `Cannot read message: ${available} bytes is shorter than the 8-byte frame header`,
    );
  }
  const view = viewsOf(bytes).view;
  const start = bytes.byteOffset + offset;
  const segmentCount = view.getUint32(start, true) + 1;
  if (segmentCount > segmentCountMax) {
    throw new CapnpError(
      "too_large",
      `Cannot read message: segment count ${segmentCount} exceeds ${segmentCountMax}`,
    );
  }
  const headerBytes = Math.ceil((4 + 4 * segmentCount) / 8) * 8;
  if (available < headerBytes) {
    throw new CapnpError(
      "truncated",
      `Cannot read message: ${available} bytes is shorter than the ${headerBytes}-byte header`,
    );
  }
  const segments: number[] = [];
  let position = start + headerBytes;
  for (let i = 0; i < segmentCount; i++) {
    const words = view.getUint32(start + 4 + 4 * i, true);
    segments.push(position);
    position += words * 8;
    segments.push(position);
  }
  if (segments[1] === segments[0]) {
    throw new CapnpError("bad_frame", "Cannot read message: segment 0 has no root pointer");
  }
  if (position - start > available) {
    throw new CapnpError(
      "truncated",
      `Cannot read message: the frame declares ${position - start} bytes but ${available} arrived`,
    );
  }
  return { frameBytes: position - start, segments };
}

/**
 * Returns the byte length of the frame that starts at `offset` (header and segments), after
 * checking its header against the bytes present. Used to split a batch of framed messages.
 *
 * @example
 * ```ts
 * const length = frameByteLength(batch, 0);
 * const first = readMessage(batch.subarray(0, length));
 * ```
 */
export function frameByteLength(bytes: Uint8Array, offset: number, limits?: ReadLimits): number {
  const segmentCountMax = limits?.segmentCountMax ?? READ_LIMITS_DEFAULT.segmentCountMax;
  return readFrame(bytes, offset, segmentCountMax).frameBytes;
}

/**
 * Validates the frame header and segment table of exactly one unpacked message against the
 * bytes that arrived, and returns a reader working in place over `bytes` (no copy).
 *
 * @example
 * ```ts
 * const msg = readMessage(lease.subarray(0, bodyBytes), { segmentCountMax: 64 });
 * ```
 */
export function readMessage(bytes: Uint8Array, limits?: ReadLimits): MessageReader {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("Cannot read message: bytes must be a Uint8Array");
  }
  // The common single-segment frame is checked inline (no frame object, no table loop).
  const length = bytes.length;
  if (length >= 16) {
    const views = viewsOf(bytes);
    const view = views.view;
    const base = bytes.byteOffset;
    if (view.getUint32(base, true) === 0 && view.getUint32(base + 4, true) * 8 + 8 === length) {
      return new MessageReader(bytes, [base + 8, base + length], limits, views);
    }
  }
  const segmentCountMax = limits?.segmentCountMax ?? READ_LIMITS_DEFAULT.segmentCountMax;
  const frame = readFrame(bytes, 0, segmentCountMax);
  if (frame.frameBytes !== bytes.length) {
    throw new CapnpError(
      "bad_frame",
      `Cannot read message: ${bytes.length - frame.frameBytes} bytes follow the frame`,
    );
  }
  return new MessageReader(bytes, frame.segments, limits);
}
