/**
 * Synchronous compression and inflation into buffers the caller gives — pool blocks — through
 * the native handle of `node:zlib` streams (`_handle.writeSync`, the primitive Node's own
 * `zlib.*Sync` functions loop over). The public `*Sync` functions collect their output in heap
 * chunks and concatenate them; this writes straight into the block and stops where the block
 * ends, so inflating a gzip bomb writes at most the block's length and nothing grows outside
 * the pool (docs/design.md, "Compression").
 *
 * One engine per coding per process, made on first use and reset before each use (a reset
 * also clears a malformed stream's error): every use runs to its end synchronously, so no two
 * uses interleave. What the engines hold outside the pool is fixed, once each (RSS measured at
 * first use): gunzip ~160 KiB, gzip level 4 (memLevel 8) ~310 KiB, zstd level 1 ~1 MiB.
 *
 * The handle is Deno's `node:zlib` polyfill's internal API: a runtime that changes it fails
 * the first use with a TypeError (and tests/zlib_engine_test.ts), never silently.
 *
 * @module
 */

import zlib from "node:zlib";
import type { AnswerCoding } from "./content_coding.ts";

/** The handle methods used (Node's `ZlibBase._handle`, and Deno's polyfill of it). */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

/** gzip's compression level: measured in bench/compression_bench.ts (docs/benchmarks.md). */
export const GZIP_LEVEL = 4;

/** zstd's compression level: faster and smaller than gzip on the service's answers. */
export const ZSTD_LEVEL = 1;

/** A native (de)compressor driven synchronously. */
class Engine {
  readonly #handle: ZlibHandle;
  /** After each write: [output bytes left, input bytes left]. */
  readonly #state: Uint32Array;
  readonly #finish: number;

  constructor(stream: unknown, finish: number, what: string) {
    const parts = stream as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
    const handle = parts._handle;
    if (
      typeof handle?.writeSync !== "function" || typeof handle.reset !== "function" ||
      !(parts._writeState instanceof Uint32Array)
    ) {
      throw new TypeError(`Cannot use ${what}: node:zlib has no synchronous stream handle`);
    }
    this.#handle = handle as ZlibHandle;
    this.#state = parts._writeState;
    this.#finish = finish;
    // A malformed stream is reported here during writeSync: thrown out of it to the caller.
    this.#handle.onerror = (message: string) => {
      throw new RangeError(`Cannot ${what}: ${message}`);
    };
  }

  reset(): void {
    this.#handle.reset();
  }

  /**
   * Feeds `input[from, ...)` and writes into `output[at, ...)`, finishing the stream; returns
   * how far input was read and output written. Throws RangeError on malformed input.
   */
  write(input: Uint8Array, from: number, output: Uint8Array, at: number): [number, number] {
    const inputLength = input.length - from;
    const outputLength = output.length - at;
    this.#handle.writeSync(this.#finish, input, from, inputLength, output, at, outputLength);
    return [from + inputLength - this.#state[1], at + outputLength - this.#state[0]];
  }
}

let gunzip: Engine | null = null;
const compressors = new Map<AnswerCoding, Engine>();

function gunzipEngine(): Engine {
  gunzip ??= new Engine(zlib.createGunzip(), zlib.constants.Z_FINISH, "gunzip");
  return gunzip;
}

function compressor(coding: AnswerCoding): Engine {
  let engine = compressors.get(coding);
  if (engine === undefined) {
    engine = coding === "gzip"
      ? new Engine(zlib.createGzip({ level: GZIP_LEVEL }), zlib.constants.Z_FINISH, "gzip")
      : new Engine(
        zlib.createZstdCompress({
          params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL },
        }),
        zlib.constants.ZSTD_e_end,
        "zstd",
      );
    compressors.set(coding, engine);
  }
  return engine;
}

/** Returned by `gunzipInto` when the stream inflates to more than the output holds. */
export const INFLATE_OVERFLOW = -1;

/** Returned by `compressInto` when the coded answer would not be smaller than the output. */
export const NO_GAIN = -1;

/** One byte of room to learn whether a stream has more to give. */
const PROBE = new Uint8Array(1);

/**
 * Inflates the gzip stream `input` into `output`: the inflated length, or INFLATE_OVERFLOW
 * when it holds more than `output.length` bytes (then nothing past `output`'s end was made).
 * Throws RangeError when the stream is malformed or truncated, or bytes follow it.
 *
 * @example
 * ```ts
 * const n = gunzipInto(compressed, lease.bytes.subarray(0, limitBytes));
 * if (n === INFLATE_OVERFLOW) throw tooLarge(...);
 * ```
 */
export function gunzipInto(input: Uint8Array, output: Uint8Array): number {
  const engine = gunzipEngine();
  engine.reset();
  let read = 0;
  let written = 0;
  if (output.length > 0) [read, written] = engine.write(input, 0, output, 0);
  if (written < output.length) {
    // Room was left: the stream ended (a truncated one threw). Multi-member streams are read
    // whole by the handle; anything after the last member is not a member and threw.
    if (read < input.length) throw new RangeError("Cannot gunzip: bytes after the stream");
    return written;
  }
  // The output is full: the stream may still hold its trailer, or more data.
  const [, more] = engine.write(input, read, PROBE, 0);
  return more > 0 ? INFLATE_OVERFLOW : written;
}

/**
 * Compresses `input` with `coding` into `output`: the coded length, or NO_GAIN when the coded
 * stream would fill `output` (give `output` shorter than `input`: a coding that does not make
 * the answer smaller is not used).
 *
 * @example
 * ```ts
 * const n = compressInto("zstd", body, lease.bytes.subarray(0, body.length - 1));
 * ```
 */
export function compressInto(coding: AnswerCoding, input: Uint8Array, output: Uint8Array): number {
  const engine = compressor(coding);
  engine.reset();
  // One write finishes the stream unless the output fills first (zlib's deflate and zstd's
  // ZSTD_e_end stop early only then); writing again would start another (empty) zstd frame.
  const [read, written] = engine.write(input, 0, output, 0);
  return written === output.length || read < input.length ? NO_GAIN : written;
}
