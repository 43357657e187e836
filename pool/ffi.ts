/**
 * The FFI binding to libpool (native/pool.h). This file and the rest of pool/ are the only code
 * that touches the native library. Hot-path symbols (pool_alloc, pool_free) take a pointer and a
 * u32 and return an i32 so V8 can use its fast-call path; no u64 crosses on a hot path because a
 * 64-bit integer crosses as a bigint and leaves the fast path.
 *
 * @module
 */

import { extractLibrary, libraryNeedsExtraction } from "./embedded_library.ts";

/** Must equal POOL_ABI_VERSION of the loaded library (pool.h). */
export const POOL_ABI_VERSION = 1;
/** sizeof(pool_config_t): u32 class_count, u32 flags, 16 x {u32 block size, u32 block count}. */
export const POOL_CONFIG_BYTES = 8 + 16 * 8;
/** sizeof(pool_stats_t): an 8-byte prefix, 8 u64 pool-wide fields, 16 x 9 u64 class fields. */
export const POOL_STATS_BYTES = 72 + 16 * 72;

/** Flags of pool_config_t.flags. */
export const POOL_FLAGS = { prefault: 1, mlock: 2 } as const;

/** Status codes of pool.h; pool_alloc returns a handle >= 0 instead of OK. */
export const POOL_STATUS = {
  ok: 0,
  exhausted: -1,
  tooLarge: -2,
  foreign: -3,
  misaligned: -4,
  doubleFree: -5,
  invalidConfig: -6,
  mmapFailed: -7,
  mlockFailed: -8,
  invalidArgument: -9,
  useAfterFree: -10,
} as const;

/** Maps a status code back to its pool.h-style name, for error messages. */
export function poolStatusName(status: number): string {
  for (const [name, code] of Object.entries(POOL_STATUS)) {
    if (code === status) return name;
  }
  return `unknown status ${status}`;
}

/** The symbol table passed to Deno.dlopen. */
export const POOL_SYMBOLS = {
  pool_abi_version: { parameters: [], result: "u32" },
  pool_config_bytes: { parameters: [], result: "u32" },
  pool_stats_bytes: { parameters: [], result: "u32" },
  pool_region_bytes: { parameters: ["buffer"], result: "u64" },
  pool_create: { parameters: ["buffer", "buffer"], result: "i32" },
  pool_destroy: { parameters: ["pointer"], result: "i32" },
  pool_alloc: { parameters: ["pointer", "u32"], result: "i32" },
  pool_free: { parameters: ["pointer", "u32"], result: "i32" },
  pool_in_use: { parameters: ["pointer"], result: "u32" },
  pool_base: { parameters: ["pointer"], result: "pointer" },
  pool_stats: { parameters: ["pointer", "buffer"], result: "i32" },
} as const;

/** An opened libpool. Close it once every pool made from it is destroyed. */
export type PoolLibrary = Deno.DynamicLibrary<typeof POOL_SYMBOLS>;

/** Options of {@link openPoolLibrary}. */
export interface OpenPoolLibraryOptions {
  /** A path to libpool.so, e.g. beside a `deno compile` executable; default: {@link defaultLibraryPath}. */
  libraryPath?: string;
  /**
   * Copy the library to a private temp file before dlopen (see embedded_library.ts); default:
   * only inside a `deno compile` executable, whose embedded files the OS loader cannot read.
   */
  extract?: boolean;
}

/**
 * The built library's path, found relative to this module (never the working directory).
 *
 * @example
 * ```ts
 * defaultLibraryPath(); // "/work/main/native/build/libpool.so"
 * ```
 */
export function defaultLibraryPath(): string {
  const url = new URL("../native/build/libpool.so", import.meta.url);
  if (url.protocol !== "file:") {
    throw new TypeError(
      `Cannot locate libpool.so: module URL ${url.href} is not a file; pass libraryPath`,
    );
  }
  return decodeURIComponent(url.pathname);
}

/**
 * Opens libpool and checks that its ABI and struct sizes match this binding.
 *
 * @example
 * ```ts
 * const lib = openPoolLibrary();
 * try {
 *   console.log(lib.symbols.pool_abi_version());
 * } finally {
 *   lib.close();
 * }
 * ```
 */
export function openPoolLibrary(options: OpenPoolLibraryOptions = {}): PoolLibrary {
  const path = options.libraryPath ?? defaultLibraryPath();
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError("Cannot open libpool: libraryPath must be a non-empty string");
  }
  try {
    Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot open libpool: ${path} does not exist; run \`deno task native:build\``,
      );
    }
    throw error;
  }
  // --- embedded library (deno compile): see embedded_library.ts ---
  const lib = (options.extract ?? libraryNeedsExtraction())
    ? dlopenCopy(path)
    : Deno.dlopen(path, POOL_SYMBOLS);
  // --- end embedded library ---
  const abi = lib.symbols.pool_abi_version();
  const configBytes = lib.symbols.pool_config_bytes();
  const statsBytes = lib.symbols.pool_stats_bytes();
  if (abi !== POOL_ABI_VERSION || configBytes !== POOL_CONFIG_BYTES) {
    lib.close();
    throw new Error(
      `Cannot use libpool at ${path}: ABI ${abi} (config ${configBytes} bytes) differs from ` +
        `${POOL_ABI_VERSION} (${POOL_CONFIG_BYTES} bytes); rebuild with \`deno task native:build\``,
    );
  }
  if (statsBytes !== POOL_STATS_BYTES) {
    lib.close();
    throw new Error(
      `Cannot use libpool at ${path}: stats struct is ${statsBytes} bytes, expected ` +
        `${POOL_STATS_BYTES}; rebuild with \`deno task native:build\``,
    );
  }
  return lib;
}

/** Opens a private copy of the library at `path`; the copy's file is gone once it is mapped. */
function dlopenCopy(path: string): PoolLibrary {
  const copy = extractLibrary(path);
  try {
    return Deno.dlopen(copy.path, POOL_SYMBOLS);
  } finally {
    copy.remove();
  }
}

/** One size class as the native config takes it. */
export interface NativeClassConfig {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
}

/**
 * Encodes a pool_config_t (little-endian, as on every platform Deno FFI runs libpool here).
 * The values must already be validated; this only lays them out.
 *
 * @example
 * ```ts
 * const raw = encodePoolConfig([{ blockSizeBytes: 4096, blockCount: 8 }], POOL_FLAGS.prefault);
 * lib.symbols.pool_region_bytes(raw); // 32768n + 8192n
 * ```
 */
export function encodePoolConfig(
  classes: readonly NativeClassConfig[],
  flags: number,
): Uint8Array {
  if (classes.length > 16) {
    throw new RangeError(`Cannot encode pool config: ${classes.length} classes exceed 16`);
  }
  const raw = new Uint8Array(POOL_CONFIG_BYTES);
  const view = new DataView(raw.buffer);
  view.setUint32(0, classes.length, true);
  view.setUint32(4, flags, true);
  classes.forEach((poolClass, c) => {
    view.setUint32(8 + c * 8, poolClass.blockSizeBytes, true);
    view.setUint32(12 + c * 8, poolClass.blockCount, true);
  });
  return raw;
}
