/**
 * Fuzzing HTTP/3 framing and QPACK (issue 7, item 3). Three families, each `FUZZ_H3_COUNT`
 * cases (default 10,000) from seed `FUZZ_SEED`:
 * - frame streams of every stream kind and role, mutated and pushed into `FrameParser` in chunks
 *   cut at random points, then `finish()`; HEADERS payloads also go through the QPACK decoder;
 * - field sections (static, literal, Huffman and dynamic references) through
 *   `decodeFieldSection`, with and without a filled dynamic table;
 * - whole QPACK decoder conversations: mutated encoder-stream bytes in chunks, interleaved with
 *   mutated sections on several streams (some blocked), cancellations, then `close()`; every
 *   blocked promise must settle, with fields or an H3Error. The peer's decoder stream goes
 *   through `DecoderStreamReader`.
 * Oracle: only `H3Error` (or "need more bytes": `next()` returning undefined) comes out;
 * anything else fails with the seed, case and input hex, and is saved to `tests/fuzz_corpus/`.
 */
import assert from "@std/assert";
import { H3Error } from "../http3/errors.ts";
import {
  encodeCancelPushFrame,
  encodeDataFrame,
  encodeFrame,
  encodeGoawayFrame,
  encodeHeadersFrame,
  encodeMaxPushIdFrame,
  encodePriorityUpdateFrame,
  encodeSettingsFrame,
  FRAME_TYPE,
  FrameParser,
  type StreamKind,
} from "../http3/frame.ts";
import {
  decodeFieldSection,
  encodeFieldSection,
  encodeFieldSectionPrefix,
} from "../http3/qpack.ts";
import {
  DecoderStreamReader,
  DynamicTable,
  encodeDuplicate,
  encodeInsertWithLiteralName,
  encodeInsertWithNameRef,
  encodeSetCapacity,
  encodeStreamCancellation,
  QpackDecoder,
} from "../http3/qpack_dynamic.ts";
import { encodeVarintBigInt } from "../http3/varint.ts";
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
const CASE_COUNT = envInt("FUZZ_H3_COUNT", 10_000);

const VARINT_BOUNDARIES = [
  0n,
  1n,
  63n,
  64n,
  16383n,
  16384n,
  2n ** 30n - 1n,
  2n ** 53n,
  2n ** 62n - 1n,
];

/** Inserts a varint of a boundary value (frame types, lengths, IDs). */
const insertVarint: Mutator = (rng, input) => {
  const v = encodeVarintBigInt(rng.pick(VARINT_BOUNDARIES));
  const at = rng.int(input.length + 1);
  const out = new Uint8Array(input.length + v.length);
  out.set(input.subarray(0, at));
  out.set(v, at);
  out.set(input.subarray(at), at + v.length);
  return out;
};

/** Sets a byte to a QPACK/HPACK prefix-integer boundary (all ones: a continuation follows). */
const overwritePrefixByte: Mutator = (rng, input) => {
  const out = input.slice();
  if (out.length > 0) out[rng.int(out.length)] = rng.pick([0x00, 0x7f, 0x80, 0xff, 0x3f, 0x1f]);
  return out;
};

const H3_MUTATORS: readonly Mutator[] = [...GENERIC_MUTATORS, insertVarint, overwritePrefixByte];

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) [out.set(p, at), at += p.length];
  return out;
}

const REQUEST_FIELDS: [string, string][] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "localhost:8443"],
  [":path", "/rpc/worknode.get"],
  ["content-type", "application/capnp"],
  ["rpc-timeout-ms", "5000"],
  ["x-custom-header", "Ünïcode-ish bytes \u00ff"],
];
const SECTION = encodeFieldSection(REQUEST_FIELDS);
const TRAILERS = encodeFieldSection([["grpc-status", "0"]]);
const GREASE = encodeFrame(0x21, new Uint8Array([1, 2, 3]));

/** Valid streams for one stream kind as received by one role. */
interface StreamSeed {
  readonly kind: StreamKind;
  readonly role: "server" | "client";
  readonly bytes: Uint8Array;
}

const STREAM_SEEDS: readonly StreamSeed[] = [
  {
    kind: "control",
    role: "server",
    bytes: concat([
      encodeSettingsFrame({ qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16 }, {
        grease: true,
      }),
      encodeMaxPushIdFrame(8),
      encodePriorityUpdateFrame(0, "u=1, i"),
      GREASE,
      encodeCancelPushFrame(3),
      encodeGoawayFrame(2 ** 40),
    ]),
  },
  {
    kind: "control",
    role: "client",
    bytes: concat([
      encodeSettingsFrame({ maxFieldSectionSize: 65536 }),
      encodeGoawayFrame(4),
      GREASE,
    ]),
  },
  {
    kind: "request",
    role: "server",
    bytes: concat([
      encodeHeadersFrame(SECTION),
      encodeDataFrame(new Uint8Array(40).fill(7)),
      GREASE,
      encodeDataFrame(new Uint8Array(0)),
      encodeHeadersFrame(TRAILERS),
    ]),
  },
  {
    kind: "request",
    role: "client",
    bytes: concat([
      encodeHeadersFrame(encodeFieldSection([[":status", "103"], ["link", "</a>"]])),
      encodeHeadersFrame(encodeFieldSection([[":status", "200"]])),
      encodeFrame(FRAME_TYPE.PUSH_PROMISE, concat([new Uint8Array([1]), SECTION])),
      encodeDataFrame(new Uint8Array([1, 2, 3])),
    ]),
  },
  {
    kind: "push",
    role: "client",
    bytes: concat([encodeHeadersFrame(SECTION), encodeDataFrame(new Uint8Array(9))]),
  },
];

function failCase(name: string, input: Uint8Array, error: unknown): never {
  const path = saveFinding(name, input);
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  throw new Error(`Fuzz case ${name} failed (${what}); saved to ${path}; input ${hex(input)}`, {
    cause: error,
  });
}

function onlyH3Error(error: unknown, counts: Map<string, number>): void {
  if (!(error instanceof H3Error)) throw error;
  counts.set(error.codeName, (counts.get(error.codeName) ?? 0) + 1);
}

/** Cuts `bytes` into 1..6 chunks at random points (empty chunks included). */
function chunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: rng.int(6) }, () => rng.int(bytes.length + 1)).sort((a, b) =>
    a - b
  );
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) [out.push(bytes.subarray(start, cut)), start = cut];
  return out;
}

/** Pushes a stream through a parser; HEADERS payloads go through the QPACK decoder too. */
function parseStream(rng: Rng, seed: StreamSeed, input: Uint8Array): number {
  const parser = new FrameParser({
    streamKind: seed.kind,
    role: seed.role,
    headersBytesMax: rng.pick([64, 65536]),
  });
  let frames = 0;
  // Each frame consumes at least one byte (a header), so this bounds a correct parser.
  const framesMax = input.length + 1;
  for (const chunk of chunks(rng, input)) {
    parser.push(chunk);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
      if (++frames > framesMax) throw new Error(`parser returned more than ${framesMax} frames`);
      if (frame.type === "headers") decodeFieldSection(frame.fieldSection);
    }
  }
  parser.finish();
  return frames;
}

Deno.test(`h3 fuzz: ${CASE_COUNT} mutated frame streams through FrameParser, seed ${SEED}`, () => {
  for (const seed of STREAM_SEEDS) assert.ok(parseStream(new Rng(1), seed, seed.bytes) > 0);
  const rng = new Rng(SEED);
  const counts = new Map<string, number>();
  const corpus = STREAM_SEEDS.map((s) => s.bytes);
  for (let i = 0; i < CASE_COUNT; i++) {
    const seed = rng.pick(STREAM_SEEDS);
    const input = mutate(rng, seed.bytes, { corpus, mutators: H3_MUTATORS });
    try {
      parseStream(rng, seed, input);
      counts.set("ok", (counts.get("ok") ?? 0) + 1);
    } catch (error) {
      try {
        onlyH3Error(error, counts);
      } catch {
        failCase(`h3-frames-${seed.kind}-${seed.role}-seed${SEED}-case${i}`, input, error);
      }
    }
  }
  console.log(
    `h3 frames fuzz: seed ${SEED}, outcomes ${
      JSON.stringify(Object.fromEntries([...counts].sort()))
    }`,
  );
  assert.ok((counts.get("ok") ?? 0) > 0);
});

/** Encoder-stream bytes that fill a table (capacity `capacity`) with `inserts` entries. */
function encoderStream(capacity: number): Uint8Array {
  if (capacity === 0) return new Uint8Array(0);
  return concat([
    encodeSetCapacity(capacity),
    encodeInsertWithLiteralName("x-id", "7"),
    encodeInsertWithNameRef({ isStatic: true, nameIndex: 0, value: "example.com" }),
    encodeInsertWithNameRef({ isStatic: false, nameIndex: 0, value: "b" }),
    encodeDuplicate(1),
  ]);
}

/** A section that references dynamic entries (Required Insert Count `ric`, Base `ric`). */
function dynamicSection(ric: number, capacity: number): Uint8Array {
  return concat([
    encodeFieldSectionPrefix({ requiredInsertCount: ric, base: ric, maxTableCapacity: capacity }),
    new Uint8Array([0x80, 0xd1, 0x40 | (ric - 1), 0x01, 0x7a, 0x5f, 0x00, 0x00]),
  ]);
}

const SECTIONS = [
  SECTION,
  TRAILERS,
  dynamicSection(1, 4096),
  dynamicSection(4, 4096),
  dynamicSection(2, 220),
];

function filledTable(): DynamicTable {
  const decoder = new QpackDecoder({ maxTableCapacity: 4096, blockedStreamsMax: 0 });
  decoder.receiveEncoderStream(encoderStream(4096));
  return decoder.table;
}

Deno.test(`h3 fuzz: ${CASE_COUNT} mutated field sections through decodeFieldSection, seed ${SEED}`, () => {
  const table = filledTable();
  assert.equal(table.insertCount, 4);
  for (const s of SECTIONS.slice(0, 4)) decodeFieldSection(s, { table });
  const rng = new Rng(SEED + 1);
  const counts = new Map<string, number>();
  for (let i = 0; i < CASE_COUNT; i++) {
    const input = mutate(rng, rng.pick(SECTIONS), { corpus: SECTIONS, mutators: H3_MUTATORS });
    const withTable = rng.chance(0.5);
    try {
      const decoded = decodeFieldSection(input, withTable ? { table } : {});
      for (const [name, value] of decoded.fields) {
        assert.ok(typeof name === "string" && typeof value === "string");
      }
      counts.set("ok", (counts.get("ok") ?? 0) + 1);
    } catch (error) {
      try {
        onlyH3Error(error, counts);
      } catch {
        failCase(`h3-section-${withTable ? "table" : "static"}-seed${SEED}-case${i}`, input, error);
      }
    }
  }
  console.log(
    `h3 section fuzz: seed ${SEED}, outcomes ${
      JSON.stringify(Object.fromEntries([...counts].sort()))
    }`,
  );
  assert.ok((counts.get("ok") ?? 0) > 0);
});

/** One QPACK decoder conversation: its inputs, and what came out. */
interface Conversation {
  readonly encoderChunks: Uint8Array[];
  readonly sections: { streamId: number; bytes: Uint8Array }[];
}

function conversation(rng: Rng): Conversation {
  const capacity = rng.pick([0, 220, 4096]);
  const stream = encoderStream(capacity);
  const mutated = rng.chance(0.7)
    ? mutate(rng, stream, { corpus: [stream], mutators: H3_MUTATORS })
    : stream;
  const sections = Array.from({ length: 1 + rng.int(4) }, () => {
    const base = rng.pick(SECTIONS);
    const bytes = rng.chance(0.7)
      ? mutate(rng, base, { corpus: SECTIONS, mutators: H3_MUTATORS })
      : base;
    return { streamId: 4 * rng.int(3), bytes };
  });
  return { encoderChunks: chunks(rng, mutated), sections };
}

/** Serialises a conversation for the corpus (lengths + bytes), so a failure can be replayed. */
function conversationBytes(c: Conversation): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const chunk of c.encoderChunks) parts.push(encodeVarintBigInt(BigInt(chunk.length)), chunk);
  parts.push(new Uint8Array([0xff]));
  for (const s of c.sections) parts.push(encodeVarintBigInt(BigInt(s.bytes.length)), s.bytes);
  return concat(parts);
}

/**
 * Plays a conversation: sections and encoder chunks alternate, a stream is sometimes cancelled;
 * the decoder is closed at the end (or at the first encoder-stream error, which closes a real
 * connection). Returns the blocked promises with flags set when they settle.
 */
function play(rng: Rng, c: Conversation, counts: Map<string, number>) {
  const decoder = new QpackDecoder({
    maxTableCapacity: rng.pick([0, 220, 4096]),
    blockedStreamsMax: rng.int(4),
    fieldSectionBytesMax: rng.pick([128, 65536]),
  });
  const pending: { settled: boolean; error: unknown }[] = [];
  const steps = Math.max(c.encoderChunks.length, c.sections.length);
  try {
    for (let i = 0; i < steps; i++) {
      const section = c.sections[i];
      if (section !== undefined) {
        try {
          const outcome = decoder.decodeOrBlock(section.streamId, section.bytes);
          if (outcome.blocked !== undefined) pending.push(watch(outcome.blocked));
        } catch (error) {
          onlyH3Error(error, counts);
        }
      }
      if (rng.chance(0.1)) decoder.cancelStream(4 * rng.int(3));
      const chunk = c.encoderChunks[i];
      if (chunk !== undefined) decoder.receiveEncoderStream(chunk);
    }
    counts.set("ok", (counts.get("ok") ?? 0) + 1);
  } catch (error) {
    onlyH3Error(error, counts);
  } finally {
    decoder.close();
  }
  return pending;
}

function watch(promise: Promise<unknown>): { settled: boolean; error: unknown } {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    (fields) => {
      state.settled = true;
      if (!Array.isArray(fields)) state.error = new TypeError("blocked section gave no fields");
    },
    (error) => {
      state.settled = true;
      if (!(error instanceof H3Error)) state.error = error;
    },
  );
  return state;
}

Deno.test(`h3 fuzz: ${CASE_COUNT} QPACK decoder conversations (blocked streams, close), seed ${SEED}`, async () => {
  const rng = new Rng(SEED + 2);
  const counts = new Map<string, number>();
  let blocked = 0;
  for (let i = 0; i < CASE_COUNT; i++) {
    const c = conversation(rng);
    const name = `h3-qpack-conversation-seed${SEED}-case${i}`;
    let pending;
    try {
      pending = play(rng, c, counts);
    } catch (error) {
      failCase(name, conversationBytes(c), error);
    }
    blocked += pending.length;
    // Rejections at close() are synchronous; their handlers run within a few microtask turns.
    for (let turn = 0; turn < 4; turn++) await null;
    for (const state of pending) {
      if (!state.settled) {
        failCase(name, conversationBytes(c), new Error("blocked section never settled"));
      }
      if (state.error !== undefined) failCase(name, conversationBytes(c), state.error);
    }
  }
  console.log(
    `h3 QPACK decoder fuzz: seed ${SEED}, ${blocked} blocked sections settled, outcomes ` +
      JSON.stringify(Object.fromEntries([...counts].sort())),
  );
  assert.ok(blocked > 0, "some sections were blocked");
});

Deno.test(`h3 fuzz: ${CASE_COUNT} mutated peer decoder streams through DecoderStreamReader`, () => {
  const rng = new Rng(SEED + 3);
  const valid = concat([
    encodeStreamCancellation(0),
    encodeStreamCancellation(4),
    encodeStreamCancellation(1 << 20),
  ]);
  const counts = new Map<string, number>();
  for (let i = 0; i < CASE_COUNT; i++) {
    const input = mutate(rng, valid, { corpus: [valid], mutators: H3_MUTATORS });
    const reader = new DecoderStreamReader();
    try {
      for (const chunk of chunks(rng, input)) reader.push(chunk);
      counts.set("ok", (counts.get("ok") ?? 0) + 1);
    } catch (error) {
      try {
        onlyH3Error(error, counts);
      } catch {
        failCase(`h3-decoder-stream-seed${SEED}-case${i}`, input, error);
      }
    }
  }
  assert.ok((counts.get("ok") ?? 0) > 0);
});

Deno.test("h3 fuzz: saved frame and section cases in tests/fuzz_corpus/ fail only with H3Error", () => {
  const found = [...loadFindings("h3-frames-"), ...loadFindings("h3-section-")];
  assert.ok(found.length > 0, "the regression corpus holds h3 cases");
  const counts = new Map<string, number>();
  for (const { name, bytes } of found) {
    for (const seed of STREAM_SEEDS) {
      try {
        parseStream(new Rng(0), seed, bytes);
      } catch (error) {
        onlyH3Error(error, counts);
      }
    }
    try {
      decodeFieldSection(bytes, { table: filledTable() });
    } catch (error) {
      if (!(error instanceof H3Error)) throw new Error(`Saved case ${name}`, { cause: error });
    }
  }
});
