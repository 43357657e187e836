import assert from "@std/assert";
import { H2Error } from "./errors.ts";
import {
  checkFrameHeader,
  encodeFrame,
  FRAME_FLAG,
  FRAME_TYPE,
  FrameHeader,
  parseDataPayload,
  parseFrameHeader,
  parseHeadersPayload,
  parsePriorityPayload,
  parseWindowUpdatePayload,
  PayloadSpan,
  writeGoaway,
  writePing,
  writeRstStream,
  writeWindowUpdate,
} from "./frame.ts";

function header(bytes: Uint8Array): FrameHeader {
  const out = new FrameHeader();
  parseFrameHeader(bytes, 0, out);
  return out;
}

function code(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof H2Error) return `${error.scope} ${error.codeName}`;
    throw error;
  }
  return "ok";
}

Deno.test("frame: the header is read in place; the reserved bit is ignored", () => {
  const bytes = encodeFrame(
    FRAME_TYPE.HEADERS,
    FRAME_FLAG.END_HEADERS,
    0x7fffffff,
    new Uint8Array(3),
  );
  bytes[5] |= 0x80;
  const h = header(bytes);
  assert.deepEqual({ ...h }, { length: 3, type: 1, flags: 4, streamId: 0x7fffffff });
  assert.throws(() => encodeFrame(0, 0, -1), RangeError);
});

Deno.test("frame: fixed-format rules of RFC 9113 §6 by type", () => {
  const check = (type: number, flags: number, stream: number, length: number) =>
    code(() =>
      checkFrameHeader(header(encodeFrame(type, flags, stream, new Uint8Array(length))), 16384)
    );
  assert.equal(check(FRAME_TYPE.DATA, 0, 0, 1), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.DATA, 0, 1, 16385), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.HEADERS, 0, 0, 1), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.PRIORITY, 0, 1, 4), "stream FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.PRIORITY, 0, 0, 5), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.RST_STREAM, 0, 1, 3), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.RST_STREAM, 0, 0, 4), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.SETTINGS, 0, 1, 0), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.SETTINGS, 0, 0, 5), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0, 6), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.PUSH_PROMISE, 0, 1, 4), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.PING, 0, 0, 7), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.PING, 0, 1, 8), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.GOAWAY, 0, 0, 7), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.WINDOW_UPDATE, 0, 1, 5), "connection FRAME_SIZE_ERROR");
  assert.equal(check(FRAME_TYPE.CONTINUATION, 0, 0, 1), "connection PROTOCOL_ERROR");
  assert.equal(check(FRAME_TYPE.PRIORITY_UPDATE, 0, 1, 4), "connection PROTOCOL_ERROR");
  assert.equal(check(0xfa, 0xff, 0, 100), "ok", "unknown types pass");
  assert.equal(check(FRAME_TYPE.PING, 0, 0, 8), "ok");
});

Deno.test("frame: padding and priority fields are removed from DATA and HEADERS", () => {
  const span = new PayloadSpan();
  const data = encodeFrame(FRAME_TYPE.DATA, FRAME_FLAG.PADDED, 1, new Uint8Array([2, 9, 9, 0, 0]));
  parseDataPayload(data, 9, header(data), span);
  assert.deepEqual(data.subarray(span.start, span.end), new Uint8Array([9, 9]));
  const tooMuch = encodeFrame(FRAME_TYPE.DATA, FRAME_FLAG.PADDED, 1, new Uint8Array([5, 0, 0]));
  assert.equal(
    code(() => parseDataPayload(tooMuch, 9, header(tooMuch), span)),
    "connection PROTOCOL_ERROR",
  );
  const empty = encodeFrame(FRAME_TYPE.DATA, FRAME_FLAG.PADDED, 1);
  assert.equal(
    code(() => parseDataPayload(empty, 9, header(empty), span)),
    "connection FRAME_SIZE_ERROR",
  );
  const flags = FRAME_FLAG.PADDED | FRAME_FLAG.PRIORITY;
  const headers = encodeFrame(
    FRAME_TYPE.HEADERS,
    flags,
    3,
    new Uint8Array([1, 0x80, 0, 0, 3, 16, 0x82, 0]),
  );
  parseHeadersPayload(headers, 9, header(headers), span);
  assert.deepEqual(headers.subarray(span.start, span.end), new Uint8Array([0x82]));
  assert.equal(span.dependsOn, 3, "self-dependency is the caller's to reject after decoding");
  const short = encodeFrame(FRAME_TYPE.HEADERS, FRAME_FLAG.PRIORITY, 3, new Uint8Array(4));
  assert.equal(
    code(() => parseHeadersPayload(short, 9, header(short), span)),
    "connection FRAME_SIZE_ERROR",
  );
  const self = encodeFrame(FRAME_TYPE.PRIORITY, 0, 5, new Uint8Array([0, 0, 0, 5, 16]));
  assert.equal(code(() => parsePriorityPayload(self, 9, header(self))), "stream PROTOCOL_ERROR");
});

Deno.test("frame: WINDOW_UPDATE of 0 is a stream error on a stream, a connection error on 0", () => {
  const zero = (stream: number) =>
    encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, stream, new Uint8Array(4));
  assert.equal(
    code(() => parseWindowUpdatePayload(zero(1), 9, header(zero(1)))),
    "stream PROTOCOL_ERROR",
  );
  assert.equal(
    code(() => parseWindowUpdatePayload(zero(0), 9, header(zero(0)))),
    "connection PROTOCOL_ERROR",
  );
  const max = encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, 0, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assert.equal(parseWindowUpdatePayload(max, 9, header(max)), 0x7fffffff);
});

Deno.test("frame: the encoders write whole frames", () => {
  const out = new Uint8Array(64);
  assert.equal(writeRstStream(out, 0, 3, 8), 13);
  assert.deepEqual(
    out.subarray(0, 13),
    encodeFrame(FRAME_TYPE.RST_STREAM, 0, 3, new Uint8Array([0, 0, 0, 8])),
  );
  assert.equal(writeWindowUpdate(out, 0, 0, 1000), 13);
  assert.deepEqual(out.subarray(9, 13), new Uint8Array([0, 0, 3, 0xe8]));
  const opaque = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(writePing(out, 0, true, opaque, 0), 17);
  assert.deepEqual(out.subarray(0, 17), encodeFrame(FRAME_TYPE.PING, FRAME_FLAG.ACK, 0, opaque));
  assert.equal(writeGoaway(out, 0, 7, 1, new Uint8Array([0x61])), 18);
  assert.deepEqual(
    out.subarray(0, 18),
    encodeFrame(FRAME_TYPE.GOAWAY, 0, 0, new Uint8Array([0, 0, 0, 7, 0, 0, 0, 1, 0x61])),
  );
});
