import assert from "@std/assert";
import { h3ErrorCode } from "./_test_errors.ts";
import { prng } from "../capnp/_test_frames.ts";
import { H3Error } from "./errors.ts";
import {
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeFrame,
  encodeFrameHeader,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePriorityUpdateFrame,
  encodeSettingsFrame,
  type Frame,
  FRAME_TYPE,
  FrameParser,
  type FrameParserOptions,
} from "./frame.ts";

/** Feeds `chunks` and collects every frame, merging DATA pieces; then calls finish(). */
function parseAll(options: FrameParserOptions, chunks: Uint8Array[]): Frame[] {
  const parser = new FrameParser(options);
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
      const last = frames.at(-1);
      if (frame.type === "data" && last?.type === "data" && !last.frameEnd) {
        frames[frames.length - 1] = {
          type: "data",
          bytes: new Uint8Array([...last.bytes, ...frame.bytes]),
          frameEnd: frame.frameEnd,
        };
      } else {
        frames.push(frame.type === "data" ? { ...frame, bytes: frame.bytes.slice() } : frame);
      }
    }
  }
  parser.finish();
  return frames;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => [...part]));
}

const SERVER_REQUEST: FrameParserOptions = { streamKind: "request", role: "server" };
const SERVER_CONTROL: FrameParserOptions = { streamKind: "control", role: "server" };
const GREASE_FRAME = encodeFrame(0x1f * 5 + 0x21, new Uint8Array([1, 2, 3]));
const UNKNOWN_FRAME = encodeFrame(0x2f0000, new Uint8Array(300));

const REQUEST_STREAM = concat(
  GREASE_FRAME,
  encodeHeadersFrame(new Uint8Array([0, 0, 0xd1, 0xd7])),
  encodeDataFrame(new Uint8Array([1, 2, 3, 4, 5])),
  UNKNOWN_FRAME,
  encodeDataFrame(new Uint8Array(0)),
  encodeDataFrame(new Uint8Array(1000).fill(7)),
  encodeHeadersFrame(new Uint8Array([0, 0, 0x5f, 0x1d, 1, 0x61])),
);

const CONTROL_STREAM = concat(
  encodeSettingsFrame({ qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16 }, { grease: true }),
  GREASE_FRAME,
  encodeGoawayFrame(2 ** 40),
  encodePriorityUpdateFrame(4, "u=1, i"),
  encodeFrame(FRAME_TYPE.PRIORITY_UPDATE_PUSH, new Uint8Array([0x01, 0x75, 0x3d, 0x32])),
  encodeCancelPushFrame(3),
  encodeMaxPushIdFrame(10),
);

Deno.test("frame: request stream parses whole and byte by byte alike, skipping GREASE", () => {
  const whole = parseAll(SERVER_REQUEST, [REQUEST_STREAM]);
  assert.deepEqual(whole.map((f) => f.type), ["headers", "data", "data", "data", "headers"]);
  const [, data5, data0, data1000] = whole;
  assert.deepEqual(data5, { type: "data", bytes: new Uint8Array([1, 2, 3, 4, 5]), frameEnd: true });
  assert.deepEqual(data0, { type: "data", bytes: new Uint8Array(0), frameEnd: true });
  assert.equal(data1000.type === "data" && data1000.bytes.length, 1000);
  const bytewise = parseAll(SERVER_REQUEST, [...REQUEST_STREAM].map((b) => new Uint8Array([b])));
  assert.deepEqual(bytewise, whole);
});

Deno.test("frame: DATA is handed out in pieces as it arrives, not buffered", () => {
  const parser = new FrameParser(SERVER_REQUEST);
  parser.push(encodeHeadersFrame(new Uint8Array([0, 0, 0xd1])));
  assert.equal(parser.next()?.type, "headers");
  parser.push(encodeFrameHeader(FRAME_TYPE.DATA, 1 << 20));
  assert.equal(parser.next(), undefined);
  parser.push(new Uint8Array(4096));
  const piece = parser.next();
  assert.ok(piece?.type === "data" && piece.bytes.length === 4096 && !piece.frameEnd);
  assert.equal(parser.bufferedBytes, 0);
  assert.equal(h3ErrorCode(() => parser.finish()), "H3_FRAME_ERROR");
});

Deno.test("frame: control stream frames decode to their fields", () => {
  const frames = parseAll(SERVER_CONTROL, [CONTROL_STREAM]);
  assert.deepEqual(frames, [
    {
      type: "settings",
      settings: {
        qpackMaxTableCapacity: 4096,
        qpackBlockedStreams: 16,
        maxFieldSectionSize: Infinity,
        enableConnectProtocol: false,
      },
    },
    { type: "goaway", id: 2 ** 40 },
    { type: "priority_update", elementType: "request", elementId: 4, priorityFieldValue: "u=1, i" },
    { type: "priority_update", elementType: "push", elementId: 1, priorityFieldValue: "u=2" },
    { type: "cancel_push", pushId: 3 },
    { type: "max_push_id", pushId: 10 },
  ]);
});

Deno.test("frame: forbidden frames are H3_FRAME_UNEXPECTED or H3_MISSING_SETTINGS", () => {
  const settings = encodeSettingsFrame({});
  const headers = encodeHeadersFrame(new Uint8Array([0, 0, 0xd1]));
  const data = encodeDataFrame(new Uint8Array([1]));
  const cases: Array<[FrameParserOptions, Uint8Array, string]> = [
    [SERVER_CONTROL, data, "H3_MISSING_SETTINGS"],
    [SERVER_CONTROL, GREASE_FRAME, "H3_MISSING_SETTINGS"],
    [SERVER_CONTROL, concat(settings, settings), "H3_FRAME_UNEXPECTED"],
    [SERVER_CONTROL, concat(settings, data), "H3_FRAME_UNEXPECTED"],
    [SERVER_CONTROL, concat(settings, headers), "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, settings, "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, encodeGoawayFrame(0), "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, encodeCancelPushFrame(0), "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, encodeMaxPushIdFrame(0), "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, encodePriorityUpdateFrame(0, "u=1"), "H3_FRAME_UNEXPECTED"],
    [
      SERVER_REQUEST,
      encodeFrame(FRAME_TYPE.PUSH_PROMISE, new Uint8Array([0, 0, 0])),
      "H3_FRAME_UNEXPECTED",
    ],
    [SERVER_REQUEST, data, "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, concat(headers, headers, headers), "H3_FRAME_UNEXPECTED"],
    [SERVER_REQUEST, concat(headers, headers, data), "H3_FRAME_UNEXPECTED"],
    [
      { streamKind: "control", role: "client" },
      concat(settings, encodeMaxPushIdFrame(1)),
      "H3_FRAME_UNEXPECTED",
    ],
  ];
  for (const type of [0x02, 0x06, 0x08, 0x09]) {
    cases.push([SERVER_REQUEST, encodeFrame(type, new Uint8Array(4)), "H3_FRAME_UNEXPECTED"]);
    cases.push([
      SERVER_CONTROL,
      concat(settings, encodeFrame(type, new Uint8Array(4))),
      "H3_FRAME_UNEXPECTED",
    ]);
  }
  for (const [options, bytes, code] of cases) {
    assert.equal(
      h3ErrorCode(() => parseAll(options, [bytes])),
      code,
      `${options.streamKind} ${bytes}`,
    );
  }
});

Deno.test("frame: a client accepts PUSH_PROMISE and interim HEADERS", () => {
  const frames = parseAll({ streamKind: "request", role: "client" }, [
    concat(
      encodeHeadersFrame(new Uint8Array([0, 0, 0xd1])),
      encodeHeadersFrame(new Uint8Array([0, 0, 0xd9])),
      encodeFrame(FRAME_TYPE.PUSH_PROMISE, new Uint8Array([7, 0, 0, 0xd1])),
      encodeDataFrame(new Uint8Array([9])),
    ),
  ]);
  assert.deepEqual(frames.map((f) => f.type), ["headers", "headers", "push_promise", "data"]);
  assert.deepEqual(frames[2], {
    type: "push_promise",
    pushId: 7,
    fieldSection: new Uint8Array([0, 0, 0xd1]),
  });
});

Deno.test("frame: payload limits and malformed fixed-size payloads", () => {
  const bigHeaders = encodeHeadersFrame(new Uint8Array(101));
  const tooBig = (() => {
    try {
      parseAll({ ...SERVER_REQUEST, headersBytesMax: 100 }, [bigHeaders]);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(tooBig instanceof H3Error && tooBig.scope === "stream");
  assert.equal(
    h3ErrorCode(() => parseAll({ ...SERVER_REQUEST, headersBytesMax: 100 }, [bigHeaders])),
    "H3_EXCESSIVE_LOAD",
  );
  const settings = encodeSettingsFrame({});
  const cases: Array<[Uint8Array, string]> = [
    [encodeFrame(FRAME_TYPE.GOAWAY, new Uint8Array([0x40])), "H3_FRAME_ERROR"],
    [encodeFrame(FRAME_TYPE.GOAWAY, new Uint8Array([0x01, 0x02])), "H3_FRAME_ERROR"],
    [encodeFrame(FRAME_TYPE.GOAWAY, new Uint8Array(0)), "H3_FRAME_ERROR"],
    [encodeFrame(FRAME_TYPE.GOAWAY, new Uint8Array(9)), "H3_EXCESSIVE_LOAD"],
    [encodeFrame(FRAME_TYPE.CANCEL_PUSH, new Uint8Array(0)), "H3_FRAME_ERROR"],
    [encodeFrame(FRAME_TYPE.PRIORITY_UPDATE_REQUEST, new Uint8Array(0)), "H3_FRAME_ERROR"],
    [encodeFrame(FRAME_TYPE.SETTINGS, new Uint8Array(5000)), "H3_EXCESSIVE_LOAD"],
  ];
  for (const [bytes, code] of cases) {
    const stream = bytes[0] === FRAME_TYPE.SETTINGS ? bytes : concat(settings, bytes);
    assert.equal(h3ErrorCode(() => parseAll(SERVER_CONTROL, [stream])), code, `${bytes}`);
  }
  assert.throws(() => new FrameParser({ ...SERVER_REQUEST, headersBytesMax: 0 }), RangeError);
});

Deno.test("frame: every truncated prefix of every frame type needs more bytes or fails typed", () => {
  const clientRequest: FrameParserOptions = { streamKind: "request", role: "client" };
  const pushPromiseStream = concat(
    encodeFrame(FRAME_TYPE.PUSH_PROMISE, new Uint8Array([0x41, 0x00, 0, 0, 0xd1])),
    REQUEST_STREAM,
  );
  const streams = [
    [SERVER_REQUEST, REQUEST_STREAM],
    [SERVER_CONTROL, CONTROL_STREAM],
    [clientRequest, pushPromiseStream],
  ] as const;
  for (const [options, stream] of streams) {
    const complete = parseAll(options, [stream]).length;
    let frameErrors = 0;
    for (let cut = 0; cut < stream.length; cut++) {
      const parser = new FrameParser(options);
      parser.push(stream.subarray(0, cut));
      let count = 0;
      while (parser.next() !== undefined) count++;
      assert.ok(count <= complete + 2);
      const code = h3ErrorCode(() => parser.finish());
      if (code !== undefined) {
        assert.equal(code, "H3_FRAME_ERROR");
        frameErrors++;
      }
    }
    assert.ok(frameErrors > stream.length / 2, "most cuts fall inside a frame");
  }
});

Deno.test("frame: random bytes give frames or typed H3 errors, never another exception", () => {
  const random = prng(0x5eed);
  const kinds: FrameParserOptions[] = [SERVER_REQUEST, SERVER_CONTROL, {
    streamKind: "push",
    role: "client",
  }];
  let typedErrors = 0;
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(random() * 64);
    const bytes = new Uint8Array(length).map(() => Math.floor(random() * 256));
    // Bias the first byte toward real frame types so parsing gets past the first header.
    if (length > 0 && random() < 0.5) bytes[0] = Math.floor(random() * 0x0e);
    const options = kinds[i % kinds.length];
    const code = h3ErrorCode(() =>
      parseAll(options, [bytes.subarray(0, length >> 1), bytes.subarray(length >> 1)])
    );
    if (code !== undefined) typedErrors++;
  }
  assert.ok(typedErrors > 1000, `typed errors ${typedErrors}`);
});
