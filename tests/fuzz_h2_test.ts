/**
 * Fuzzing HTTP/2 framing and HPACK (issue 14 item 7). Two families, each FUZZ_H2_COUNT cases
 * (default 50,000: 100,000 in a normal run; scripts/stress_fuzz.sh runs 1,000,000) from seed
 * FUZZ_SEED:
 * - frame sequences: valid client conversations (SETTINGS, HEADERS with CONTINUATION, padding
 *   and priority, DATA, trailers, RST_STREAM, PING, WINDOW_UPDATE, PRIORITY, GOAWAY), mutated
 *   at byte and frame level, fed in random chunks to the connection's dispatcher exactly as the
 *   read loop does (partial frames kept and compacted), with a handler that answers, grants,
 *   streams and resets; then every stream is aborted as a closing connection does;
 * - HPACK blocks: mutated header blocks (static, literal, Huffman, indexed, size updates)
 *   decoded with a fresh or a filled dynamic table, then validated as request heads.
 * Oracle: only H2Error comes out (of the dispatcher: a connection error; stream errors are
 * answered inside it), every case finishes within CASE_TIME_MS, and the open streams and the
 * head bytes they hold stay within their caps. Anything else fails with the seed, case and input hex, and
 * the input is saved to tests/fuzz_corpus/ (replayed first on the next run).
 */

import assert from "@std/assert";
import { Clock } from "../clock/mod.ts";
import { Dispatcher, type DispatcherOwner } from "../http2/dispatcher.ts";
import { H2Error } from "../http2/errors.ts";
import {
  encodeFrame,
  FRAME_FLAG,
  FRAME_HEADER_BYTES,
  FRAME_TYPE,
  writeU32,
} from "../http2/frame.ts";
import type { H2Handler } from "../http2/handler.ts";
import { HpackDecoder } from "../http2/hpack.ts";
import { DynamicTable } from "../http2/hpack_dynamic.ts";
import { encodeFieldBlock } from "../http2/hpack_encoder.ts";
import { h2Limits } from "../http2/limits.ts";
import { RequestHeadBuilder } from "../http2/request_head.ts";
import { encodeSettingsFrame, SETTING } from "../http2/settings.ts";
import {
  envInt,
  GENERIC_MUTATORS,
  hex,
  loadFindings,
  mutate,
  type Mutator,
  Rng,
  saveFinding,
} from "./_fuzz.ts";

const SEED = envInt("FUZZ_SEED", 20261126);
const CASE_COUNT = envInt("FUZZ_H2_COUNT", 50_000);
/** A case taking longer than this is a hang. */
const CASE_TIME_MS = 1000;

const LIMITS = h2Limits({ outputBufferBytes: 8192, maxConcurrentStreams: 8 });
const TEXT = new TextEncoder();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) [out.set(p, at), at += p.length];
  return out;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  writeU32(out, 0, value);
  return out;
}

const REQUEST: [string, string][] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "localhost"],
  [":path", "/rpc/worknode.get"],
  ["content-type", "application/capnp"],
  ["cookie", "a=1"],
  ["cookie", "b=2"],
];

/** Valid client conversations (after the preface) to mutate. */
function conversations(): Uint8Array[] {
  const table = new DynamicTable(4096);
  const block = encodeFieldBlock(REQUEST, { table });
  const again = encodeFieldBlock(REQUEST, { table });
  const headersFlags = FRAME_FLAG.END_HEADERS;
  const padded = concat([
    new Uint8Array([3]),
    u32(0),
    new Uint8Array([16]),
    again,
    new Uint8Array(3),
  ]);
  return [
    concat([
      encodeSettingsFrame([[SETTING.INITIAL_WINDOW_SIZE, 100], [SETTING.HEADER_TABLE_SIZE, 0]]),
      encodeFrame(FRAME_TYPE.HEADERS, headersFlags, 1, block),
      encodeFrame(FRAME_TYPE.DATA, 0, 1, TEXT.encode("hello")),
      encodeFrame(
        FRAME_TYPE.DATA,
        FRAME_FLAG.PADDED | FRAME_FLAG.END_STREAM,
        1,
        new Uint8Array([2, 9, 0, 0]),
      ),
      encodeFrame(
        FRAME_TYPE.HEADERS,
        FRAME_FLAG.PADDED | FRAME_FLAG.PRIORITY | headersFlags,
        3,
        padded,
      ),
      encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, 0, u32(1000)),
      encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, 3, u32(50)),
      encodeFrame(
        FRAME_TYPE.HEADERS,
        FRAME_FLAG.END_STREAM | headersFlags,
        3,
        encodeFieldBlock([["x-t", "1"]]),
      ),
    ]),
    concat([
      encodeSettingsFrame([]),
      encodeFrame(FRAME_TYPE.HEADERS, 0, 5, block.subarray(0, 5)),
      encodeFrame(FRAME_TYPE.CONTINUATION, 0, 5, block.subarray(5, 9)),
      encodeFrame(FRAME_TYPE.CONTINUATION, FRAME_FLAG.END_HEADERS, 5, block.subarray(9)),
      encodeFrame(FRAME_TYPE.PING, 0, 0, new Uint8Array(8)),
      encodeFrame(FRAME_TYPE.PRIORITY, 0, 7, new Uint8Array([0, 0, 0, 5, 16])),
      encodeFrame(FRAME_TYPE.RST_STREAM, 0, 5, u32(8)),
      encodeFrame(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0),
      encodeFrame(
        FRAME_TYPE.HEADERS,
        FRAME_FLAG.END_STREAM | headersFlags,
        7,
        encodeFieldBlock(REQUEST.slice(0, 4)),
      ),
      encodeFrame(0x21, 0xff, 9, new Uint8Array([1, 2])),
      encodeFrame(FRAME_TYPE.GOAWAY, 0, 0, concat([u32(7), u32(0)])),
    ]),
  ];
}

/** Sets a frame-header field at a frame boundary (length, type, flags or stream ID). */
const overwriteFrameField: Mutator = (rng, input) => {
  const out = input.slice();
  const boundaries: number[] = [];
  for (let at = 0; at + FRAME_HEADER_BYTES <= out.length && boundaries.length < 64;) {
    boundaries.push(at);
    at += FRAME_HEADER_BYTES + ((out[at] << 16) | (out[at + 1] << 8) | out[at + 2]);
  }
  if (boundaries.length === 0) return out;
  const at = rng.pick(boundaries);
  switch (rng.int(4)) {
    case 0:
      out[at + 2] = rng.int(256);
      break;
    case 1:
      out[at + 3] = rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10, rng.int(256)]);
      break;
    case 2:
      out[at + 4] = rng.int(256);
      break;
    default:
      writeU32(out, at + 5, rng.pick([0, 1, 2, 3, 0x7fffffff, 0x80000001, rng.int(64)]));
  }
  return out;
};

/** Sets a byte to an HPACK prefix boundary. */
const overwritePrefixByte: Mutator = (rng, input) => {
  const out = input.slice();
  if (out.length > 0) {
    out[rng.int(out.length)] = rng.pick([
      0x00,
      0x0f,
      0x1f,
      0x20,
      0x3f,
      0x40,
      0x7f,
      0x80,
      0xbe,
      0xff,
    ]);
  }
  return out;
};

const FRAME_MUTATORS: readonly Mutator[] = [
  ...GENERIC_MUTATORS,
  overwriteFrameField,
  overwritePrefixByte,
];

/** A conn whose writes succeed at once (the fuzzed part is the parser and its state machine). */
const SINK_CONN = {
  write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
  close() {},
} as unknown as Deno.Conn;

const OWNER: DispatcherOwner = {
  deadlineAt() {},
  onIdle() {},
  onStreamsExhausted() {},
  onHandlerError(error) {
    throw error;
  },
  onWriteError() {},
};

/** Answers in every way a handler may, chosen by the stream ID. */
const HANDLER: H2Handler = {
  onRequest(head, stream) {
    const way = head.streamId % 5;
    if (way === 0) stream.respond(200, [["content-type", "text/plain"]], TEXT.encode("ok"));
    if (way === 1) stream.grant(1000);
    if (way === 2) stream.respondHead(200, []);
    if (way === 3) stream.reset("CANCEL");
    return {
      onData: (bytes) => {
        if (way === 2) stream.write(bytes.slice()).catch(() => {});
        else stream.grant(bytes.length);
      },
      onEnd: () => {
        if (way === 1) stream.respond(204, [], null);
        if (way === 2) stream.end();
      },
      onAbort() {},
    };
  },
};

/** Cuts `bytes` into 1..6 chunks at random points. */
function chunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: rng.int(6) }, () => rng.int(bytes.length + 1)).sort((a, b) =>
    a - b
  );
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) [out.push(bytes.subarray(start, cut)), start = cut];
  return out;
}

/** Feeds a conversation to a fresh dispatcher the way the read loop does. */
function runFrames(rng: Rng, input: Uint8Array, clock: Clock): string {
  const dispatcher = new Dispatcher(SINK_CONN, HANDLER, clock, LIMITS, OWNER);
  const buf = new Uint8Array(LIMITS.readBufferBytes);
  let start = 0;
  let end = 0;
  try {
    dispatcher.start();
    for (const chunk of chunks(rng, input)) {
      if (chunk.length > buf.length - end) return "overflow"; // the read loop never reads past
      buf.set(chunk, end);
      end += chunk.length;
      start = dispatcher.process(buf, start, end);
      if (dispatcher.pausedForOutput) return "paused";
      buf.copyWithin(0, start, end);
      [start, end] = [0, end - start];
      const table = dispatcher.table;
      if (
        table.size > LIMITS.maxConcurrentStreams || table.heldHeadBytes > LIMITS.heldHeadBytesMax
      ) {
        throw new Error(
          `${table.size} streams hold ${table.heldHeadBytes} head bytes: over the caps`,
        );
      }
    }
    return "ok";
  } finally {
    dispatcher.abortAll(new Error("connection closed"));
    dispatcher.sender.close();
  }
}

function failCase(name: string, input: Uint8Array, error: unknown): never {
  const path = saveFinding(name, input);
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  throw new Error(`Fuzz case ${name} failed (${what}); saved to ${path}; input ${hex(input)}`, {
    cause: error,
  });
}

/** Runs one case; returns its outcome name, or fails the test. */
function oneCase(name: string, input: Uint8Array, run: () => string): string {
  const started = performance.now();
  let outcome: string;
  try {
    outcome = run();
  } catch (error) {
    if (!(error instanceof H2Error)) failCase(name, input, error);
    outcome = error.codeName;
  }
  const tookMs = performance.now() - started;
  if (tookMs > CASE_TIME_MS) failCase(name, input, new Error(`took ${Math.round(tookMs)} ms`));
  return outcome;
}

function report(family: string, counts: Map<string, number>): void {
  console.log(
    `h2 ${family} fuzz: seed ${SEED}, outcomes ${
      JSON.stringify(Object.fromEntries([...counts].sort()))
    }`,
  );
}

Deno.test(`h2 fuzz: ${CASE_COUNT} mutated frame sequences through the dispatcher, seed ${SEED}`, async () => {
  const clock = new Clock();
  try {
    const seeds = conversations();
    for (const seed of seeds) assert.equal(runFrames(new Rng(1), seed, clock), "ok");
    for (const { name, bytes } of loadFindings("h2-frames-")) {
      oneCase(name, bytes, () => runFrames(new Rng(1), bytes, clock));
    }
    const rng = new Rng(SEED);
    const counts = new Map<string, number>();
    for (let i = 0; i < CASE_COUNT; i++) {
      const input = mutate(rng, rng.pick(seeds), { corpus: seeds, mutators: FRAME_MUTATORS });
      const outcome = oneCase(
        `h2-frames-seed${SEED}-case${i}`,
        input,
        () => runFrames(rng, input, clock),
      );
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
      // Let the scheduled flushes of closed senders run, so they do not pile up.
      if (i % 256 === 0) await Promise.resolve();
    }
    report("frames", counts);
    assert.ok((counts.get("ok") ?? 0) > 0);
  } finally {
    clock.close();
  }
});

const BLOCKS: Uint8Array[] = (() => {
  const table = new DynamicTable(4096);
  return [
    encodeFieldBlock(REQUEST, { table }),
    encodeFieldBlock(REQUEST, { table }),
    encodeFieldBlock(REQUEST, { huffman: false, sizeUpdateBytes: 100 }),
    encodeFieldBlock([["x-\u00ff", "\u0080 \u00ff"], [":path", "/"]]),
    new Uint8Array([0x3f, 0xe1, 0x1f, 0x82, 0x87, 0x84]),
  ];
})();

function runBlock(input: Uint8Array, table: boolean): string {
  const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 16384 });
  if (table) {
    for (const block of BLOCKS.slice(0, 2)) {
      decoder.decode(block, 0, block.length, { onField() {} });
    }
  }
  const builder = new RequestHeadBuilder();
  decoder.decode(input, 0, input.length, builder);
  if (decoder.tooLarge) return "too_large";
  if (decoder.table.sizeBytes > decoder.table.maxSizeBytes) throw new Error("table over its size");
  const head = builder.build(1);
  for (const [name, value] of head.fields) {
    assert.ok(typeof name === "string" && typeof value === "string");
  }
  return "ok";
}

Deno.test(`h2 fuzz: ${CASE_COUNT} mutated HPACK blocks through the decoder and head checks, seed ${SEED}`, () => {
  for (const { name, bytes } of loadFindings("h2-hpack-")) {
    oneCase(name, bytes, () => runBlock(bytes, true));
  }
  const rng = new Rng(SEED + 1);
  const counts = new Map<string, number>();
  for (let i = 0; i < CASE_COUNT; i++) {
    const input = mutate(rng, rng.pick(BLOCKS), { corpus: BLOCKS, mutators: FRAME_MUTATORS });
    const table = rng.chance(0.5);
    const outcome = oneCase(`h2-hpack-seed${SEED}-case${i}`, input, () => runBlock(input, table));
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  report("hpack", counts);
  assert.ok((counts.get("ok") ?? 0) > 0);
});
