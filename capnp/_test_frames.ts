/**
 * Test helpers: raw frames built word by word (for hostile inputs) and a deterministic PRNG.
 *
 * @module
 */

/** One 64-bit word as its low and high 32-bit halves. */
export type Word = readonly [lo: number, hi: number];

/**
 * A framed message from segments of words.
 *
 * @example
 * ```ts
 * const bytes = frame([[structPtr(0, 0, 1), listPtr(0, 7, 0)]]);
 * ```
 */
export function frame(segments: readonly (readonly Word[])[]): Uint8Array {
  const headerBytes = Math.ceil((4 + 4 * segments.length) / 8) * 8;
  const words = segments.reduce((n, s) => n + s.length, 0);
  const out = new Uint8Array(headerBytes + words * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length - 1, true);
  segments.forEach((s, i) => view.setUint32(4 + 4 * i, s.length, true));
  let at = headerBytes;
  for (const segment of segments) {
    for (const [lo, hi] of segment) {
      view.setUint32(at, lo >>> 0, true);
      view.setUint32(at + 4, hi >>> 0, true);
      at += 8;
    }
  }
  return out;
}

/**
 * A struct pointer word.
 *
 * @example
 * ```ts
 * structPtr(0, 1, 2); // offset 0, 1 data word, 2 pointers
 * ```
 */
export function structPtr(offsetWords: number, dataWords: number, pointerCount: number): Word {
  return [(offsetWords << 2) >>> 0, (dataWords | (pointerCount << 16)) >>> 0];
}

/**
 * A list pointer word (`elementSize` 0..7; for 7 the count is the word count).
 *
 * @example
 * ```ts
 * listPtr(0, 2, 6); // 6 bytes right after the pointer
 * ```
 */
export function listPtr(offsetWords: number, elementSize: number, count: number): Word {
  return [((offsetWords << 2) | 1) >>> 0, (elementSize | (count << 3)) >>> 0];
}

/**
 * A far pointer word.
 *
 * @example
 * ```ts
 * farPtr(1, 0, false); // single far to word 0 of segment 1
 * ```
 */
export function farPtr(segment: number, padWord: number, isDouble: boolean): Word {
  return [((padWord << 3) | (isDouble ? 6 : 2)) >>> 0, segment];
}

/**
 * A word holding bytes (little-endian), e.g. text.
 *
 * @example
 * ```ts
 * bytesWord([104, 105, 0]); // "hi\0"
 * ```
 */
export function bytesWord(bytes: readonly number[]): Word {
  const b = [...bytes, 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8);
  return [
    (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0,
    (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0,
  ];
}

/**
 * A deterministic PRNG (mulberry32) returning floats in [0, 1).
 *
 * @example
 * ```ts
 * const random = prng(42);
 * random();
 * ```
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
