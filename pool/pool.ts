/**
 * `Pool`: a libpool slab pool opened at boot, handing out {@link Lease}s over its blocks.
 *
 * One `Deno.UnsafePointerView.getArrayBuffer` covers the pool's whole block area and is made at
 * open; a block's view is a `Uint8Array` over that buffer at an offset computed from its handle
 * (no FFI call), made on the block's first use and reused after. So an acquire + release costs
 * two fast FFI calls (pool_alloc, pool_free) and one small object.
 *
 * @module
 */
import {
  encodePoolConfig,
  openPoolLibrary,
  POOL_FLAGS,
  POOL_STATS_BYTES,
  POOL_STATUS,
  type PoolLibrary,
  poolStatusName,
} from "./ffi.ts";
import { Lease, type LeaseOwner } from "./lease.ts";
import { type PoolStats, readPoolStats } from "./stats.ts";

/** One size class: `blockCount` blocks of `blockSizeBytes` each. */
export interface PoolClassConfig {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
}

/** Limits of the fixed contract shared with native/pool.h and the boot plan. */
export const POOL_LIMITS = {
  classCountMax: 16,
  blockCountMax: 2 ** 24 - 1,
  blockAlignBytes: 64,
  blockSizeBytesMin: 64,
  /** The largest multiple of 64 that fits the u32 block size. */
  blockSizeBytesMax: 2 ** 32 - 64,
  pageBytes: 4096,
} as const;

const HANDLE_CLASS_SHIFT = 24;
const HANDLE_INDEX_MASK = 0xffffff;

/** Options of {@link Pool.open}. */
export interface PoolOpenOptions {
  /** Touch every page at open so no page fault happens while serving (MAP_POPULATE). */
  prefault?: boolean;
  /** mlock the region at open; fails with a clear error when RLIMIT_MEMLOCK forbids it. */
  mlock?: boolean;
  /** Where libpool.so is (e.g. beside a compiled executable); default: native/build/. */
  libraryPath?: string;
}

function roundUpPage(n: number): number {
  return Math.ceil(n / POOL_LIMITS.pageBytes) * POOL_LIMITS.pageBytes;
}

function checkCount(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`Invalid pool class: ${name} ${String(value)} is not an integer`);
  }
  if (value < min || value > max) {
    throw new RangeError(`Invalid pool class: ${name} ${value} is not in ${min}..${max}`);
  }
  return value;
}

/**
 * Checks classes against the contract (1..16 classes; block sizes >= 64, multiples of 64,
 * strictly increasing; block counts 1..2^24-1) and throws TypeError/RangeError otherwise.
 *
 * @example
 * ```ts
 * validatePoolClasses([{ blockSizeBytes: 4096, blockCount: 8 }]); // ok
 * validatePoolClasses([{ blockSizeBytes: 100, blockCount: 8 }]); // RangeError
 * ```
 */
export function validatePoolClasses(classes: readonly PoolClassConfig[]): void {
  if (!Array.isArray(classes)) throw new TypeError("Invalid pool classes: expected an array");
  const { classCountMax, blockCountMax, blockAlignBytes } = POOL_LIMITS;
  if (classes.length < 1 || classes.length > classCountMax) {
    throw new RangeError(
      `Invalid pool classes: class count ${classes.length} is not in 1..${classCountMax}`,
    );
  }
  let previousBytes = 0;
  for (let c = 0; c < classes.length; c++) {
    const poolClass = classes[c];
    if (typeof poolClass !== "object" || poolClass === null) {
      throw new TypeError(`Invalid pool class ${c}: expected {blockSizeBytes, blockCount}`);
    }
    const size = checkCount(
      poolClass.blockSizeBytes,
      `${c} blockSizeBytes`,
      POOL_LIMITS.blockSizeBytesMin,
      POOL_LIMITS.blockSizeBytesMax,
    );
    checkCount(poolClass.blockCount, `${c} blockCount`, 1, blockCountMax);
    if (size % blockAlignBytes !== 0) {
      throw new RangeError(
        `Invalid pool class ${c}: blockSizeBytes ${size} is not a multiple of 64`,
      );
    }
    if (size <= previousBytes) {
      throw new RangeError(
        `Invalid pool class ${c}: blockSizeBytes ${size} is not above the previous ${previousBytes}`,
      );
    }
    previousBytes = size;
  }
}

/**
 * Exactly the bytes libpool maps for `classes` (pool_region_bytes in C):
 * `sum roundUp(size * count, 4096) + roundUp(4096 + 8 * sum count, 4096)`.
 *
 * @example
 * ```ts
 * regionBytesFor([{ blockSizeBytes: 4096, blockCount: 2 }]); // 8192 + 8192
 * ```
 */
export function regionBytesFor(classes: readonly PoolClassConfig[]): number {
  validatePoolClasses(classes);
  let dataBytes = 0;
  let blockCountTotal = 0;
  for (const poolClass of classes) {
    dataBytes += roundUpPage(poolClass.blockSizeBytes * poolClass.blockCount);
    blockCountTotal += poolClass.blockCount;
  }
  const total = dataBytes + roundUpPage(POOL_LIMITS.pageBytes + 8 * blockCountTotal);
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(`Invalid pool classes: region of ${total} bytes exceeds 2^53`);
  }
  return total;
}

function checkFlag(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`Invalid pool option: ${name} must be a boolean`);
  }
  return value;
}

/** Creates the native pool; closes `lib` and throws a clear error when libpool refuses. */
function createNativePool(
  lib: PoolLibrary,
  classes: readonly PoolClassConfig[],
  flags: number,
): Deno.PointerObject {
  const out = new BigUint64Array(1);
  const status = lib.symbols.pool_create(encodePoolConfig(classes, flags), out);
  const pointer = Deno.UnsafePointer.create(out[0]);
  if (status === POOL_STATUS.ok && pointer !== null) return pointer;
  lib.close();
  const bytes = regionBytesFor(classes);
  const hints: Record<number, string> = {
    [POOL_STATUS.mmapFailed]: `mmap of ${bytes} bytes failed; lower the pool budget`,
    [POOL_STATUS.mlockFailed]: `mlock of ${bytes} bytes failed; raise RLIMIT_MEMLOCK or drop mlock`,
  };
  throw new Error(`Cannot open pool: ${hints[status] ?? poolStatusName(status)}`);
}

/**
 * A boot-sized slab pool. One owner (one isolate); not shared across workers.
 *
 * Exhaustion of the class that fits a request returns `null` from {@link Pool.tryAcquire}; it
 * never falls back to a bigger class, so small requests cannot drain the large blocks the plan
 * reserved for large messages, and every class's worst-case waste stays as planned.
 *
 * @example
 * ```ts
 * const pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 64 }]);
 * const lease = pool.tryAcquire(100);
 * lease?.release();
 * pool.close();
 * ```
 */
export class Pool {
  /** The classes this pool was opened with, frozen. */
  readonly classes: readonly PoolClassConfig[];
  /** The largest request {@link Pool.tryAcquire} accepts. */
  readonly blockSizeBytesMax: number;
  /** Bytes of the one mapping, metadata included (= {@link regionBytesFor}). */
  readonly regionBytes: number;
  #lib: PoolLibrary;
  #pointer: Deno.PointerObject;
  #alloc: (pool: Deno.PointerObject, sizeBytes: number) => number;
  #free: (pool: Deno.PointerObject, handle: number) => number;
  #buffer: ArrayBuffer;
  #blockSizes: number[];
  #baseOffsets: number[];
  #views: (Uint8Array | undefined)[][];
  #owner: LeaseOwner;
  #inUse = 0;
  #closed = false;

  private constructor(
    lib: PoolLibrary,
    pointer: Deno.PointerObject,
    classes: readonly PoolClassConfig[],
  ) {
    this.#lib = lib;
    this.#pointer = pointer;
    this.#alloc = lib.symbols.pool_alloc;
    this.#free = lib.symbols.pool_free;
    this.classes = Object.freeze(
      classes.map((c) =>
        Object.freeze({ blockSizeBytes: c.blockSizeBytes, blockCount: c.blockCount })
      ),
    );
    this.blockSizeBytesMax = classes[classes.length - 1].blockSizeBytes;
    const stats = this.#readStats();
    this.regionBytes = stats.regionBytes;
    this.#blockSizes = stats.classes.map((c) => c.blockSizeBytes);
    this.#baseOffsets = stats.classes.map((c) => c.baseOffsetBytes);
    this.#views = stats.classes.map(() => []);
    const base = lib.symbols.pool_base(pointer);
    if (base === null) throw new Error("Cannot open pool: pool_base returned NULL");
    // The one view over the block area, made once; the metadata after it stays out of reach.
    this.#buffer = Deno.UnsafePointerView.getArrayBuffer(base, stats.dataBytes);
    this.#owner = { releaseHandle: (handle) => this.#release(handle) };
  }

  /**
   * Validates `classes` in TypeScript, loads libpool and maps the pool.
   *
   * @example
   * ```ts
   * const pool = Pool.open(plan.classes, { prefault: true });
   * ```
   */
  static open(classes: readonly PoolClassConfig[], options: PoolOpenOptions = {}): Pool {
    validatePoolClasses(classes);
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Invalid pool options: expected an object");
    }
    const flags = (checkFlag(options.prefault, "prefault") ? POOL_FLAGS.prefault : 0) |
      (checkFlag(options.mlock, "mlock") ? POOL_FLAGS.mlock : 0);
    const expectedBytes = regionBytesFor(classes);
    const lib = openPoolLibrary({ libraryPath: options.libraryPath });
    const pointer = createNativePool(lib, classes, flags);
    const pool = new Pool(lib, pointer, classes);
    if (pool.regionBytes !== expectedBytes) {
      pool.close();
      throw new Error(
        `Cannot open pool: libpool mapped ${pool.regionBytes} bytes, expected ${expectedBytes}`,
      );
    }
    return pool;
  }

  /**
   * Takes a block of the smallest class with `blockSizeBytes >= sizeBytes`, or returns `null`
   * when that class is exhausted. Throws RangeError for a size that is not an integer in
   * 1..{@link Pool.blockSizeBytesMax}, and Error once the pool is closed.
   *
   * @example
   * ```ts
   * const lease = pool.tryAcquire(bodyBytes);
   * if (lease === null) return respond503();
   * ```
   */
  tryAcquire(sizeBytes: number): Lease | null {
    if (!(Number.isInteger(sizeBytes) && sizeBytes >= 1 && sizeBytes <= this.blockSizeBytesMax)) {
      throw this.#sizeError("acquire", sizeBytes);
    }
    if (this.#closed) throw new Error("Cannot acquire: the pool is closed");
    const handle = this.#alloc(this.#pointer, sizeBytes);
    if (handle < 0) {
      if (handle === POOL_STATUS.exhausted) return null;
      throw new Error(`Cannot acquire ${sizeBytes} bytes: libpool said ${poolStatusName(handle)}`);
    }
    const c = handle >>> HANDLE_CLASS_SHIFT;
    const index = handle & HANDLE_INDEX_MASK;
    const views = this.#views[c];
    let view = views[index];
    if (view === undefined) {
      const size = this.#blockSizes[c];
      view = new Uint8Array(this.#buffer, this.#baseOffsets[c] + index * size, size);
      views[index] = view;
    }
    this.#inUse++;
    return new Lease(this.#owner, handle, view);
  }

  /**
   * The index of the class that would serve `sizeBytes`, or -1 when it exceeds
   * {@link Pool.blockSizeBytesMax}. Throws RangeError for a non-integer or a size below 1.
   *
   * @example
   * ```ts
   * pool.classIndexFor(100); // 0 with classes [4096, 65536]
   * ```
   */
  classIndexFor(sizeBytes: number): number {
    if (!(Number.isInteger(sizeBytes) && sizeBytes >= 1)) {
      throw this.#sizeError("classify", sizeBytes);
    }
    return this.classes.findIndex((c) => c.blockSizeBytes >= sizeBytes);
  }

  /** Blocks currently leased, over all classes (kept in TypeScript: no FFI call). */
  inUseCount(): number {
    return this.#inUse;
  }

  /** True once {@link Pool.close} succeeded. */
  get closed(): boolean {
    return this.#closed;
  }

  /** A snapshot of libpool's counters. */
  stats(): PoolStats {
    if (this.#closed) throw new Error("Cannot read stats: the pool is closed");
    return this.#readStats();
  }

  /**
   * Unmaps the pool. Idempotent. Refuses (throws, pool left open) while leases are live, since
   * their views would point at unmapped memory. On success the region's ArrayBuffer is detached,
   * so a view kept past its release reads as empty instead of touching unmapped memory.
   */
  close(): void {
    if (this.#closed) return;
    if (this.#inUse > 0) {
      throw new Error(
        `Cannot close pool: ${this.#inUse} leases are still live; release them first`,
      );
    }
    this.#closed = true;
    this.#buffer.transfer(0);
    this.#views = [];
    const status = this.#lib.symbols.pool_destroy(this.#pointer);
    this.#lib.close();
    if (status !== POOL_STATUS.ok) {
      throw new Error(`Cannot close pool: pool_destroy said ${poolStatusName(status)}`);
    }
  }

  #release(handle: number): void {
    const status = this.#free(this.#pointer, handle);
    if (status !== POOL_STATUS.ok) {
      // Unreachable through Lease (it releases once); a failure here means a bug in pool/.
      throw new Error(`Cannot release block ${handle}: libpool said ${poolStatusName(status)}`);
    }
    this.#inUse--;
  }

  #readStats(): PoolStats {
    const raw = new Uint8Array(POOL_STATS_BYTES);
    const status = this.#lib.symbols.pool_stats(this.#pointer, raw);
    if (status !== POOL_STATUS.ok) {
      throw new Error(`Cannot read stats: libpool said ${poolStatusName(status)}`);
    }
    return readPoolStats(raw);
  }

  #sizeError(action: string, sizeBytes: unknown): RangeError {
    if (typeof sizeBytes !== "number" || !Number.isInteger(sizeBytes)) {
      return new RangeError(`Cannot ${action}: size ${String(sizeBytes)} is not an integer`);
    }
    if (sizeBytes < 1) return new RangeError(`Cannot ${action}: size ${sizeBytes} is below 1`);
    return new RangeError(
      `Cannot ${action}: size ${sizeBytes} exceeds the largest block ${this.blockSizeBytesMax}`,
    );
  }
}
