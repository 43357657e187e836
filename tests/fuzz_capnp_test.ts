/**
 * Fuzzing the Cap'n Proto codec (issue 7, item 3): mutated frames built from valid messages of
 * every schema struct and of both envelopes go through `readMessage`/`decodeMessage` with every
 * generated codec, `readRequest`/`readParams` and `readResponse`/`readResult`.
 *
 * Oracle: only `CapnpError` may come out (anything else fails with the seed, the case index and
 * the input in hex, and is saved to `tests/fuzz_corpus/`), and whatever decodes must survive a
 * round trip: writing the decoded value with the project's writer and reading it back gives the
 * same value (and the JSON form gives it back too). Hangs are bounded by the reader's own step
 * budget (`traversalWordsMax`, at most twice the message's words), not by a wall-clock check.
 *
 * `FUZZ_CAPNP_COUNT` (default 50,000) and `FUZZ_SEED` change the size and the seed.
 */
import assert from "@std/assert";
import {
  CapnpError,
  decodeMessage,
  frameByteLength,
  measureMessage,
  type ReadLimits,
  type StructCodec,
  writeMessage,
} from "../capnp/mod.ts";
import {
  measureRequest,
  measureResponse,
  methodNameOf,
  readParams,
  readRequest,
  readResponse,
  readResult,
  writeRequest,
  writeResponse,
} from "../rpc/envelope.ts";
import { RpcErrorCodec } from "../schema/rpc_capnp.ts";
import { CAPNP_MUTATORS, envInt, hex, loadFindings, mutate, Rng, saveFinding } from "./_fuzz.ts";
import { CORPUS_SAMPLES, type Sample } from "./_fuzz_capnp_samples.ts";

const SEED = envInt("FUZZ_SEED", 20261126);
const CASE_COUNT = envInt("FUZZ_CAPNP_COUNT", 50_000);

/** The service's limits for a normal profile (maxPropertiesPerOverlap 1024). */
const LIMITS: ReadLimits = { listLengthMax: 1024 };

// deno-lint-ignore no-explicit-any
type AnyCodec = StructCodec<any>;

/** One valid framed input and how it was made. */
interface CorpusEntry {
  readonly kind: "message" | "request" | "response";
  readonly codec: AnyCodec;
  readonly bytes: Uint8Array;
}

const CODECS: readonly AnyCodec[] = [...new Set(CORPUS_SAMPLES.map((s) => s.codec))];

function encodeMessage(sample: Sample): Uint8Array {
  const out = new Uint8Array(measureMessage(sample.codec, sample.value));
  assert.equal(writeMessage(sample.codec, sample.value, out), out.length);
  return out;
}

function encodeRequest(sample: Sample, requestId: number): Uint8Array {
  const request = {
    requestId,
    methodName: `fuzz.${sample.codec.typeName}`,
    codec: sample.codec,
    params: sample.value,
  };
  const out = new Uint8Array(measureRequest(request));
  assert.equal(writeRequest(request, out), out.length);
  return out;
}

function encodeResponse(sample: Sample, requestId: number, asError: boolean): Uint8Array {
  const response = asError
    ? { requestId, error: { code: "internal", message: "fuzz ✓", details: '{"n":1}' } }
    : { requestId, codec: sample.codec, result: sample.value };
  const out = new Uint8Array(measureResponse(response));
  assert.equal(writeResponse(response, out), out.length);
  return out;
}

/** Every sample as a bare message, as request params and as a response result. */
function buildCorpus(): CorpusEntry[] {
  const corpus: CorpusEntry[] = [];
  CORPUS_SAMPLES.forEach((sample, i) => {
    corpus.push({ kind: "message", codec: sample.codec, bytes: encodeMessage(sample) });
    corpus.push({ kind: "request", codec: sample.codec, bytes: encodeRequest(sample, i + 1) });
    corpus.push({
      kind: "response",
      codec: sample.codec,
      bytes: encodeResponse(sample, 2 ** 40 + i, i % 5 === 0),
    });
  });
  return corpus;
}

/** Runs `step`; a CapnpError counts as a clean refusal, anything else propagates. */
function refused(step: () => void, codes: Map<string, number>): void {
  try {
    step();
    codes.set("ok", (codes.get("ok") ?? 0) + 1);
  } catch (error) {
    if (!(error instanceof CapnpError)) throw error;
    codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
  }
}

function roundTripMessage(codec: AnyCodec, value: unknown): void {
  const again = decodeMessage(codec, encodeMessage({ codec, value }), LIMITS);
  assert.deepStrictEqual(again, value, `${codec.typeName}: binary round trip differs`);
  const json = JSON.parse(JSON.stringify(codec.toJson(value)));
  assert.deepStrictEqual(codec.fromJson(json), value, `${codec.typeName}: JSON round trip`);
}

function checkMessage(input: Uint8Array, codec: AnyCodec, codes: Map<string, number>): void {
  refused(() => roundTripMessage(codec, decodeMessage(codec, input, LIMITS)), codes);
}

function checkRequest(input: Uint8Array, codec: AnyCodec, codes: Map<string, number>): void {
  refused(() => {
    const request = readRequest(input, LIMITS);
    const methodName = methodNameOf(request);
    const params = readParams(request, codec);
    const out = { requestId: request.requestId, methodName, codec, params };
    const bytes = new Uint8Array(measureRequest(out));
    writeRequest(out, bytes);
    const again = readRequest(bytes, LIMITS);
    assert.equal(again.requestId, request.requestId);
    assert.equal(methodNameOf(again), methodName);
    assert.deepStrictEqual(readParams(again, codec), params, `${codec.typeName}: request trip`);
  }, codes);
}

function checkResponse(input: Uint8Array, codec: AnyCodec, codes: Map<string, number>): void {
  refused(() => {
    const response = readResponse(input, LIMITS);
    const requestId = response.requestId;
    if (response.error !== null) {
      const bytes = encodeResponseOf({ requestId, error: response.error });
      assert.deepStrictEqual(readResponse(bytes, LIMITS).error, response.error);
      return;
    }
    const result = readResult(response, codec);
    const bytes = encodeResponseOf({ requestId, codec, result });
    const again = readResponse(bytes, LIMITS);
    assert.equal(again.requestId, requestId);
    assert.deepStrictEqual(readResult(again, codec), result, `${codec.typeName}: response trip`);
  }, codes);
}

function encodeResponseOf(
  response: Parameters<typeof writeResponse<unknown>>[0],
): Uint8Array {
  const bytes = new Uint8Array(measureResponse(response));
  writeResponse(response, bytes);
  return bytes;
}

/**
 * The oracle for one input: the entry's own codec through the path it was made for, one other
 * codec through every path, `RpcError` as a bare message, and the batch splitter.
 */
function checkInput(
  input: Uint8Array,
  codecs: { own: AnyCodec; other: AnyCodec },
  codes: Map<string, number>,
): void {
  for (const codec of [codecs.own, codecs.other]) {
    checkMessage(input, codec, codes);
    checkRequest(input, codec, codes);
    checkResponse(input, codec, codes);
  }
  checkMessage(input, RpcErrorCodec, codes);
  // The batch endpoint splits a body with frameByteLength: it must stay inside the bytes.
  refused(() => {
    const length = frameByteLength(input, 0, LIMITS);
    assert.ok(Number.isSafeInteger(length) && length >= 8 && length <= input.length);
  }, codes);
}

function failCase(name: string, input: Uint8Array, error: unknown): never {
  const path = saveFinding(name, input);
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  throw new Error(`Fuzz case ${name} failed (${what}); saved to ${path}; input ${hex(input)}`, {
    cause: error,
  });
}

/** The 1,000-property overlap is large: it is picked for 1 case in 50 to keep CI fast. */
function pickEntry(rng: Rng, corpus: readonly CorpusEntry[], large: readonly CorpusEntry[]) {
  return rng.chance(0.02) ? rng.pick(large) : rng.pick(corpus);
}

Deno.test(`capnp fuzz: ${CASE_COUNT} mutated frames, seed ${SEED}`, () => {
  const all = buildCorpus();
  const large = all.filter((e) => e.bytes.length > 16384);
  const small = all.filter((e) => e.bytes.length <= 16384);
  assert.ok(large.length >= 3, "the 1,000-property overlap is in the corpus");
  // Every valid entry must decode and round-trip before mutation starts.
  const clean = new Map<string, number>();
  for (const entry of all) {
    if (entry.kind === "message") {
      roundTripMessage(entry.codec, decodeMessage(entry.codec, entry.bytes, LIMITS));
    } else if (entry.kind === "request") checkRequest(entry.bytes, entry.codec, clean);
    else checkResponse(entry.bytes, entry.codec, clean);
  }
  assert.deepStrictEqual([...clean.keys()], ["ok"], "every valid envelope decodes");
  const rng = new Rng(SEED);
  const codes = new Map<string, number>();
  const bytesOnly = all.map((e) => e.bytes);
  let slowestMs = 0;
  let slowestCase = -1;
  const started = performance.now();
  for (let i = 0; i < CASE_COUNT; i++) {
    const entry = pickEntry(rng, small, large);
    const input = mutate(rng, entry.bytes, { corpus: bytesOnly, mutators: CAPNP_MUTATORS });
    const other = rng.pick(CODECS);
    const t0 = performance.now();
    try {
      checkInput(input, { own: entry.codec, other }, codes);
    } catch (error) {
      failCase(`capnp-seed${SEED}-case${i}`, input, error);
    }
    const ms = performance.now() - t0;
    if (ms > slowestMs) [slowestMs, slowestCase] = [ms, i];
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `capnp fuzz: seed ${SEED}, ${CASE_COUNT} cases in ${seconds.toFixed(1)} s, ` +
      `slowest case ${slowestCase} ${slowestMs.toFixed(2)} ms, outcomes ` +
      JSON.stringify(Object.fromEntries([...codes].sort())),
  );
  assert.ok((codes.get("ok") ?? 0) > 0, "some mutated inputs still decode (round trips ran)");
});

Deno.test("capnp fuzz: saved cases in tests/fuzz_corpus/ are refused cleanly or round-trip", () => {
  const found = loadFindings("capnp-");
  assert.ok(found.length > 0, "the regression corpus holds capnp cases");
  const codes = new Map<string, number>();
  for (const { name, bytes } of found) {
    for (const codec of CODECS) {
      try {
        checkInput(bytes, { own: codec, other: codec }, codes);
      } catch (error) {
        throw new Error(`Saved case ${name} with ${codec.typeName} failed`, { cause: error });
      }
    }
  }
});
