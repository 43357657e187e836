/**
 * Fuzzing helpers shared by `fuzz_capnp_test.ts` and `fuzz_h3_test.ts`: a seeded random source
 * (the codec tests' mulberry32 PRNG, reused), byte-level mutators, case counts and seeds from
 * the environment, and the found-case store in `tests/fuzz_corpus/`.
 *
 * Every mutator returns a new array and never modifies its input, so corpus entries can be
 * mutated again and again.
 *
 * @module
 */
import { prng } from "../capnp/_test_frames.ts";

/** Boundary values written over pointer words, segment table entries and list lengths. */
export const BOUNDARY_U32 = [0, 1, 2, 0x1fffffff, 0x20000000, 0x7fffffff, 0xffffffff] as const;

/** The largest mutation count applied to one input (each case applies 1..this many). */
const MUTATIONS_PER_CASE_MAX = 4;

/** The largest number of bytes one insert mutation adds. */
const INSERT_BYTES_MAX = 16;

/** Where the fuzz tests keep found cases (as regression inputs). */
export const FUZZ_CORPUS_DIR = new URL("./fuzz_corpus/", import.meta.url);

/**
 * A seeded random source: integers, picks and chances from one mulberry32 stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.int(10); // 0..9, the same sequence for the same seed
 * ```
 */
export class Rng {
  readonly #next: () => number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`Cannot seed Rng: ${seed}`);
    this.#next = prng(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.#next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `count` random bytes. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = this.int(256);
    return out;
  }
}

/**
 * A positive integer from the environment (e.g. `FUZZ_CAPNP_COUNT`), or `fallback`.
 *
 * @example
 * ```ts
 * const count = envInt("FUZZ_CAPNP_COUNT", 50_000);
 * ```
 */
export function envInt(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot read ${name}: ${text} is not a non-negative integer`);
  }
  return value;
}

/** Flips one bit. */
export function flipBit(rng: Rng, input: Uint8Array): Uint8Array {
  const out = input.slice();
  if (out.length > 0) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
}

/** Inserts 1..16 random bytes at a random position. */
export function insertBytes(rng: Rng, input: Uint8Array): Uint8Array {
  const at = rng.int(input.length + 1);
  const extra = rng.bytes(1 + rng.int(INSERT_BYTES_MAX));
  const out = new Uint8Array(input.length + extra.length);
  out.set(input.subarray(0, at));
  out.set(extra, at);
  out.set(input.subarray(at), at + extra.length);
  return out;
}

/** Deletes a random run of 1..16 bytes. */
export function deleteBytes(rng: Rng, input: Uint8Array): Uint8Array {
  if (input.length === 0) return input.slice();
  const at = rng.int(input.length);
  const count = Math.min(input.length - at, 1 + rng.int(INSERT_BYTES_MAX));
  const out = new Uint8Array(input.length - count);
  out.set(input.subarray(0, at));
  out.set(input.subarray(at + count), at);
  return out;
}

/** Cuts the input at a random length (possibly 0). */
export function truncate(rng: Rng, input: Uint8Array): Uint8Array {
  return input.slice(0, rng.int(input.length + 1));
}

/** The head of `a` (to a random point) followed by the tail of `b` (from a random point). */
export function splice(rng: Rng, a: Uint8Array, b: Uint8Array): Uint8Array {
  const head = a.subarray(0, rng.int(a.length + 1));
  const tail = b.subarray(rng.int(b.length + 1));
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/** Writes a little-endian u32 at `offset` (clipped to the input). */
function writeU32(out: Uint8Array, offset: number, value: number): void {
  for (let i = 0; i < 4 && offset + i < out.length; i++) {
    out[offset + i] = (value >>> (8 * i)) & 0xff;
  }
}

/** Overwrites one aligned 32-bit half of a word with a boundary value. */
export function overwriteBoundary(rng: Rng, input: Uint8Array): Uint8Array {
  const out = input.slice();
  if (out.length >= 4) writeU32(out, 4 * rng.int(out.length >> 2), rng.pick(BOUNDARY_U32));
  return out;
}

/**
 * Overwrites the segment count or one segment size of a Cap'n Proto frame header with a
 * boundary value (the table is the first 4 + 4 * count bytes).
 */
export function overwriteSegmentTable(rng: Rng, input: Uint8Array): Uint8Array {
  const out = input.slice();
  if (out.length < 8) return out;
  const segments = Math.min(1 + new DataView(out.buffer).getUint32(0, true), 8);
  writeU32(out, 4 * rng.int(segments + 1), rng.pick(BOUNDARY_U32));
  return out;
}

/**
 * Finds a Cap'n Proto list pointer (a word whose low two bits are 1) and sets its element
 * count (the top 29 bits) to a boundary value, or sets its element size. Falls back to a
 * boundary overwrite of a pointer-looking word when there is no list pointer.
 */
export function overwriteListLength(rng: Rng, input: Uint8Array): Uint8Array {
  const out = input.slice();
  const view = new DataView(out.buffer);
  const words = out.length >> 3;
  const start = words > 0 ? rng.int(words) : 0;
  // At most one pass over the words: the loop is bounded by the input.
  for (let i = 0; i < words; i++) {
    const at = ((start + i) % words) * 8;
    if ((view.getUint32(at, true) & 3) !== 1) continue;
    const hi = view.getUint32(at + 4, true);
    const count = rng.pick(BOUNDARY_U32) & 0x1fffffff;
    const size = rng.chance(0.25) ? rng.int(8) : hi & 7;
    view.setUint32(at + 4, ((count << 3) | size) >>> 0, true);
    return out;
  }
  return overwriteBoundary(rng, input);
}

/**
 * Rewrites the offset or the section sizes of a struct or far pointer (low bits 0 or 2) with
 * boundary-ish values, so pointers land out of bounds, overlap or point backwards.
 */
export function overwritePointer(rng: Rng, input: Uint8Array): Uint8Array {
  const out = input.slice();
  const words = out.length >> 3;
  if (words === 0) return out;
  const view = new DataView(out.buffer);
  const at = rng.int(words) * 8;
  const kind = rng.int(4);
  const offsetWords = rng.pick([0, 1, -1, -2, 0x1fffffff, -0x20000000, words]);
  const lo = ((offsetWords << 2) | kind) >>> 0;
  view.setUint32(at, lo, true);
  if (rng.chance(0.5)) view.setUint32(at + 4, rng.pick(BOUNDARY_U32), true);
  return out;
}

/** A mutator over one input. */
export type Mutator = (rng: Rng, input: Uint8Array) => Uint8Array;

/** The byte-level mutators that know nothing of the format. */
export const GENERIC_MUTATORS: readonly Mutator[] = [
  flipBit,
  insertBytes,
  deleteBytes,
  truncate,
  overwriteBoundary,
];

/** The generic mutators plus the Cap'n Proto aware ones, each listed once. */
export const CAPNP_MUTATORS: readonly Mutator[] = [
  ...GENERIC_MUTATORS,
  overwriteSegmentTable,
  overwriteListLength,
  overwritePointer,
];

/**
 * Applies 1..4 mutations from `mutators` to a corpus entry, sometimes splicing in another
 * entry first. Returns the mutated bytes.
 *
 * @example
 * ```ts
 * const input = mutate(rng, corpus[0], { corpus, mutators: CAPNP_MUTATORS });
 * ```
 */
export function mutate(
  rng: Rng,
  input: Uint8Array,
  options: { corpus: readonly Uint8Array[]; mutators: readonly Mutator[] },
): Uint8Array {
  let out = input;
  if (rng.chance(0.1)) out = splice(rng, out, rng.pick(options.corpus));
  const rounds = 1 + rng.int(MUTATIONS_PER_CASE_MAX);
  for (let i = 0; i < rounds; i++) out = rng.pick(options.mutators)(rng, out);
  return out;
}

/**
 * Lower-case hex of (the first 4096 bytes of) `bytes`, for failure messages.
 *
 * @example
 * ```ts
 * hex(new Uint8Array([1, 255])); // "01ff"
 * ```
 */
export function hex(bytes: Uint8Array): string {
  const shown = bytes.subarray(0, 4096);
  const text = Array.from(shown, (b) => b.toString(16).padStart(2, "0")).join("");
  return bytes.length > shown.length ? `${text}... (${bytes.length} bytes)` : text;
}

/**
 * Saves a found case as `tests/fuzz_corpus/<name>.bin` and returns its path, so it becomes a
 * regression input for the next run.
 *
 * @example
 * ```ts
 * saveFinding("capnp-seed1-case42", input);
 * ```
 */
export function saveFinding(name: string, bytes: Uint8Array): string {
  if (!/^[a-z0-9_.-]+$/i.test(name)) throw new TypeError(`Cannot save finding: bad name ${name}`);
  Deno.mkdirSync(FUZZ_CORPUS_DIR, { recursive: true });
  const url = new URL(`${name}.bin`, FUZZ_CORPUS_DIR);
  Deno.writeFileSync(url, bytes);
  return url.pathname;
}

/**
 * The saved cases whose file name starts with `prefix`, sorted by name.
 *
 * @example
 * ```ts
 * for (const { name, bytes } of loadFindings("capnp-")) check(bytes);
 * ```
 */
export function loadFindings(prefix: string): { name: string; bytes: Uint8Array }[] {
  const found: { name: string; bytes: Uint8Array }[] = [];
  for (const entry of Deno.readDirSync(FUZZ_CORPUS_DIR)) {
    if (!entry.isFile || !entry.name.startsWith(prefix) || !entry.name.endsWith(".bin")) continue;
    found.push({
      name: entry.name,
      bytes: Deno.readFileSync(new URL(entry.name, FUZZ_CORPUS_DIR)),
    });
  }
  return found.sort((a, b) => a.name < b.name ? -1 : 1);
}
