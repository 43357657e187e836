/**
 * The dashboard's stats snapshot: pool occupancy per size class and the RPC counters, as one
 * small JSON document. The page polls it about once a second and computes rates from the deltas
 * of the counters, so the server keeps no time series and no per-client state.
 *
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "../errors/rpc_error.ts";
import type { PoolLike } from "../rpc/method.ts";
import { type PoolClassCounters, poolClassCounters } from "../rpc/pool_counters.ts";
import { REJECT_REASONS, type RejectReason, type RpcMetrics } from "../rpc/metrics.ts";

/** The error codes in a fixed order (the order of `ERROR_CODES`). */
const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as readonly ErrorCode[];

/** The number of methods a snapshot reports at most; the method set is frozen and small. */
export const DASHBOARD_METHOD_COUNT_MAX = 1024;

/** What the snapshot reads: the pool, the request counters and the method names in id order. */
export interface DashboardSource {
  readonly pool: PoolLike;
  readonly metrics: RpcMetrics;
  /** Method names in registry id order (the ids `RpcMetrics` counts by). */
  readonly methodNames: readonly string[];
}

/** One pool size class in a snapshot. */
export type DashboardPoolClass = PoolClassCounters;

/** One method's counters in a snapshot (monotonic totals since boot). */
export interface DashboardMethod {
  readonly name: string;
  /** Requests that ended with "ok". */
  readonly okTotal: number;
  /** Requests that ended with any error code. */
  readonly errorTotal: number;
  /** The non-zero error counts by code. */
  readonly errorsByCode: Readonly<Partial<Record<ErrorCode, number>>>;
}

/** The JSON document of `GET /api/stats`. */
export interface DashboardStats {
  /** Server time of the snapshot (Unix ms), for rates across polls. */
  readonly timeMs: number;
  readonly pool: {
    readonly regionBytes: number;
    readonly classes: readonly DashboardPoolClass[];
  };
  readonly methods: readonly DashboardMethod[];
  /** Requests refused before a handler ran, by reason (monotonic totals). */
  readonly rejectedByReason: Readonly<Record<RejectReason, number>>;
}

/**
 * Reads one snapshot. Costs a pool stats read and (methods × codes) array reads: nothing that
 * grows with traffic.
 *
 * @example
 * ```ts
 * const stats = collectDashboardStats({ pool, metrics, methodNames: ["system.echo"] });
 * console.log(stats.pool.classes[0].blocksInUse);
 * ```
 */
export function collectDashboardStats(source: DashboardSource): DashboardStats {
  const names = source.methodNames;
  if (names.length > DASHBOARD_METHOD_COUNT_MAX) {
    throw new RangeError(
      `Cannot collect dashboard stats: ${names.length} methods exceed ${DASHBOARD_METHOD_COUNT_MAX}`,
    );
  }
  const poolStats = source.pool.stats();
  const classes = poolStats.classes.map(poolClassCounters);
  const methods = names.map((name, id) => methodCounters(source.metrics, name, id));
  const rejectedByReason = Object.fromEntries(
    REJECT_REASONS.map((reason) => [reason, source.metrics.rejectedCount(reason)]),
  ) as Record<RejectReason, number>;
  return {
    timeMs: Date.now(),
    pool: { regionBytes: poolStats.regionBytes, classes },
    methods,
    rejectedByReason,
  };
}

/** One method's ok and error totals. */
function methodCounters(metrics: RpcMetrics, name: string, id: number): DashboardMethod {
  const errorsByCode: Partial<Record<ErrorCode, number>> = {};
  let errorTotal = 0;
  for (const code of ERROR_CODE_NAMES) {
    const n = metrics.requestCount(id, code);
    if (n > 0) {
      errorsByCode[code] = n;
      errorTotal += n;
    }
  }
  return { name, okTotal: metrics.requestCount(id, "ok"), errorTotal, errorsByCode };
}
