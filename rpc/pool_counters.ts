/**
 * The per-class pool counters shown to operators, as one shape for `system.pool` and the
 * dashboard (copied field by field, so nothing else of the pool's stats leaks into an answer).
 *
 * @module
 */

import type { PoolClassStatsLike } from "./method.ts";

/** One size class's counters: size, blocks, high watermark, allocations and failures. */
export type PoolClassCounters = Omit<PoolClassStatsLike, "bytesRequestedInUse">;

/**
 * The operator counters of one class from its stats.
 *
 * @example
 * ```ts
 * const classes = pool.stats().classes.map(poolClassCounters);
 * ```
 */
export function poolClassCounters(c: PoolClassStatsLike): PoolClassCounters {
  return {
    blockSizeBytes: c.blockSizeBytes,
    blocksTotal: c.blocksTotal,
    blocksInUse: c.blocksInUse,
    blocksInUseHighWatermark: c.blocksInUseHighWatermark,
    allocTotal: c.allocTotal,
    allocFailuresTotal: c.allocFailuresTotal,
  };
}
