/**
 * Compressed answers against the uncompressed answer of the same run (issue 15): a 1,000-property
 * `sheaf.overlap` verdict (1,000 conflicts), encoded as the service encodes it (JSON and Cap'n
 * Proto, into a pool block), then coded as the web sink codes it (rpc/web_sink.ts: zstd level 1,
 * gzip level 4, into a second block). Run: `deno bench -A bench/compression_bench.ts`.
 *
 * Two outputs:
 * - the `deno bench` groups `compression json` and `compression capnp`: encode + code per answer,
 *   the baseline being the identity answer (encode only) of the same run; the rows named
 *   `(measured, not offered)` are the alternatives the choice was made against — gzip levels 1
 *   and 6, and brotli quality 4 through a fresh encoder per answer (Deno's brotli handle cannot
 *   be reset, rpc/zlib_engine.ts);
 * - a table printed at load time: per coding, the coded size, the size ratio to the identity
 *   answer and the cost per KiB of identity answer (the median of 7 timed rounds of 40 answers,
 *   the identity answer's own cost subtracted).
 *
 * @module
 */

import zlib from "node:zlib";
import { Pool } from "../pool/mod.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import { encodeResultAnswer } from "../rpc/call_codec.ts";
import type { AnswerCoding } from "../rpc/content_coding.ts";
import { sheafOverlap } from "../rpc/handlers/sheaf.ts";
import type { Services } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import { compressAnswer } from "../rpc/web_sink.ts";

const pool = Pool.open([
  { blockSizeBytes: 4096, blockCount: 8 },
  { blockSizeBytes: 1 << 20, blockCount: 4 },
], { prefault: true });
const registry = createRegistry(METHODS);
const binary = createBinaryWire(registry, pool);
const services = { pool } as unknown as Services;

/** A verdict of 1,000 conflicts, values like a sensor fleet's. */
const verdict = {
  consistent: false,
  conflicts: Array.from({ length: 1000 }, (_, i) => ({
    key: `property-${String(i).padStart(4, "0")}`,
    valueA: `reading ${(i * 7.3).toFixed(1)} from wn-a rack-${i % 12}/slot-${i % 7}`,
    valueB: `reading ${(i * 7.9).toFixed(1)} from wn-b rack-${i % 12}/slot-${i % 5}`,
    valueClaimed: `claimed ${(i * 7.6).toFixed(1)} for the overlap`,
  })),
};

type Wire = "json" | "capnp";

function encode(wire: Wire) {
  return encodeResultAnswer(verdict, {
    wire,
    spec: sheafOverlap,
    requestId: 1,
    binary,
    services,
  });
}

let sink = 0;

function identity(wire: Wire): void {
  const answer = encode(wire);
  sink += answer.body.length;
  answer.release();
}

function coded(wire: Wire, coding: AnswerCoding): number {
  const answer = compressAnswer(encode(wire), { coding, minBytes: 1024, pool });
  const length = answer.body.length;
  answer.release();
  sink += length;
  return length;
}

/** Alternatives: the encoded body coded by node:zlib's one-shot functions (heap output). */
function alternative(wire: Wire, code: (body: Uint8Array) => Uint8Array): number {
  const answer = encode(wire);
  const length = code(answer.body).length;
  answer.release();
  sink += length;
  return length;
}

const ALTERNATIVES: Record<string, (body: Uint8Array) => Uint8Array> = {
  "gzip level 1": (body) => zlib.gzipSync(body, { level: 1 }),
  "gzip level 6": (body) => zlib.gzipSync(body, { level: 6 }),
  "brotli quality 4": (body) =>
    zlib.brotliCompressSync(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 4,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
};

/** Median ms per answer of `fn` over 7 rounds of 40 (bounded: 280 calls). */
function medianMs(fn: () => unknown): number {
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = performance.now();
    for (let i = 0; i < 40; i++) fn();
    rounds.push((performance.now() - start) / 40);
  }
  return rounds.sort((a, b) => a - b)[3];
}

/** The load-time table: coded size, ratio, and cost per KiB over the identity answer. */
function printTable(): void {
  const lines = [
    "| wire | coding | answer bytes | size ratio | µs per KiB of answer |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const wire of ["json", "capnp"] as const) {
    const plain = encode(wire);
    const plainBytes = plain.body.length;
    plain.release();
    const kib = plainBytes / 1024;
    const baseMs = medianMs(() => identity(wire));
    lines.push(
      `| ${wire} | identity | ${plainBytes} | 1.000 | 0 (encode: ${
        (baseMs * 1000 / kib).toFixed(2)
      }) |`,
    );
    const rows: [string, () => number][] = [
      ["zstd level 1 (offered)", () => coded(wire, "zstd")],
      ["gzip level 4 (offered)", () => coded(wire, "gzip")],
      ...Object.entries(ALTERNATIVES).map(([name, code]) =>
        [`${name} (not offered)`, () => alternative(wire, code)] as [string, () => number]
      ),
    ];
    for (const [name, run] of rows) {
      const bytes = run();
      const ms = medianMs(run) - baseMs;
      lines.push(
        `| ${wire} | ${name} | ${bytes} | ${(bytes / plainBytes).toFixed(3)} | ${
          (ms * 1000 / kib).toFixed(2)
        } |`,
      );
    }
  }
  console.log(lines.join("\n"));
}

// Warm-up before either output is measured (the codec and the engines compile and allocate).
for (let i = 0; i < 50; i++) {
  for (const wire of ["json", "capnp"] as const) {
    identity(wire);
    coded(wire, "zstd");
    coded(wire, "gzip");
  }
}
printTable();

for (const wire of ["json", "capnp"] as const) {
  const group = `compression ${wire}`;
  Deno.bench(`${wire} verdict: identity (encode only)`, { group, baseline: true }, () => {
    identity(wire);
  });
  Deno.bench(`${wire} verdict: encode + zstd level 1`, { group }, () => {
    coded(wire, "zstd");
  });
  Deno.bench(`${wire} verdict: encode + gzip level 4`, { group }, () => {
    coded(wire, "gzip");
  });
  for (const [name, code] of Object.entries(ALTERNATIVES)) {
    Deno.bench(`${wire} verdict: encode + ${name} (measured, not offered)`, { group }, () => {
      alternative(wire, code);
    });
  }
}

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
  pool.close();
});
