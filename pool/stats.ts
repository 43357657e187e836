/**
 * Reading libpool's versioned stats struct (pool_stats_t in native/pool.h) into plain objects.
 *
 * @module
 */
import { POOL_ABI_VERSION, POOL_STATS_BYTES } from "./ffi.ts";

/** One size class, as counted by libpool. */
export interface PoolClassStats {
  readonly blockSizeBytes: number;
  readonly blocksTotal: number;
  readonly blocksInUse: number;
  readonly blocksInUseHighWatermark: number;
  /** Successful allocations. */
  readonly allocTotal: number;
  /** Exhaustion answers for requests that fit this class. */
  readonly allocFailuresTotal: number;
  readonly bytesRequestedTotal: number;
  readonly bytesRequestedInUse: number;
  /** Offset of the class's block 0 from the start of the pool's block area. */
  readonly baseOffsetBytes: number;
}

/** Invalid frees refused by libpool, by kind; each left the pool unchanged. */
export interface PoolInvalidFrees {
  readonly foreign: number;
  readonly misaligned: number;
  readonly double: number;
}

/** A snapshot of a pool's counters. */
export interface PoolStats {
  readonly abiVersion: number;
  /** The whole mapping, metadata included. */
  readonly regionBytes: number;
  /** The block area at the start of the mapping (what TypeScript views). */
  readonly dataBytes: number;
  readonly blocksInUse: number;
  readonly allocTooLargeTotal: number;
  readonly invalidFrees: PoolInvalidFrees;
  /** Debug builds of libpool only; 0 otherwise. */
  readonly useAfterFreeDetectedTotal: number;
  readonly classes: readonly PoolClassStats[];
}

const HEADER_BYTES = 8;
const CLASS_STATS_BYTES = 9 * 8;
const CLASS_STATS_OFFSET = 72;
const CLASS_COUNT_MAX = 16;

/** Reads a u64 as a number; counters stay far below 2^53, and a larger one is a corrupt read. */
function readU64(view: DataView, offset: number): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot read pool stats: u64 at offset ${offset} exceeds 2^53`);
  }
  return Number(value);
}

function readClass(view: DataView, index: number): PoolClassStats {
  const at = CLASS_STATS_OFFSET + index * CLASS_STATS_BYTES;
  return Object.freeze({
    blockSizeBytes: readU64(view, at),
    blocksTotal: readU64(view, at + 8),
    blocksInUse: readU64(view, at + 16),
    blocksInUseHighWatermark: readU64(view, at + 24),
    allocTotal: readU64(view, at + 32),
    allocFailuresTotal: readU64(view, at + 40),
    bytesRequestedTotal: readU64(view, at + 48),
    bytesRequestedInUse: readU64(view, at + 56),
    baseOffsetBytes: readU64(view, at + 64),
  });
}

/**
 * Decodes the bytes pool_stats() wrote (native little-endian layout) into a frozen snapshot.
 *
 * @example
 * ```ts
 * const raw = new Uint8Array(POOL_STATS_BYTES);
 * lib.symbols.pool_stats(poolPointer, raw);
 * const stats = readPoolStats(raw);
 * console.log(stats.classes[0].blocksInUse);
 * ```
 */
export function readPoolStats(raw: Uint8Array): PoolStats {
  if (!(raw instanceof Uint8Array)) {
    throw new TypeError("Cannot read pool stats: expected a Uint8Array");
  }
  if (raw.byteLength !== POOL_STATS_BYTES) {
    throw new RangeError(
      `Cannot read pool stats: length ${raw.byteLength} differs from ${POOL_STATS_BYTES}`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const abiVersion = view.getUint32(0, true);
  if (abiVersion !== POOL_ABI_VERSION) {
    throw new RangeError(
      `Cannot read pool stats: ABI version ${abiVersion} differs from ${POOL_ABI_VERSION}`,
    );
  }
  const classCount = view.getUint32(4, true);
  if (classCount < 1 || classCount > CLASS_COUNT_MAX) {
    throw new RangeError(`Cannot read pool stats: class count ${classCount} is not in 1..16`);
  }
  const classes: PoolClassStats[] = [];
  for (let c = 0; c < classCount; c++) classes.push(readClass(view, c));
  return Object.freeze({
    abiVersion,
    regionBytes: readU64(view, HEADER_BYTES),
    dataBytes: readU64(view, HEADER_BYTES + 8),
    blocksInUse: readU64(view, HEADER_BYTES + 16),
    allocTooLargeTotal: readU64(view, HEADER_BYTES + 24),
    invalidFrees: Object.freeze({
      foreign: readU64(view, HEADER_BYTES + 32),
      misaligned: readU64(view, HEADER_BYTES + 40),
      double: readU64(view, HEADER_BYTES + 48),
    }),
    useAfterFreeDetectedTotal: readU64(view, HEADER_BYTES + 56),
    classes: Object.freeze(classes),
  });
}
