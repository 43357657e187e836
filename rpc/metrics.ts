/**
 * Request metrics in Prometheus text form (names from docs/design.md, "Interfaces").
 *
 * Counters are plain arrays indexed by method id and code index, so recording a request costs a
 * few array writes and no string work; the text is built only when `/metrics` is scraped. Unknown
 * method names are never used as label values (the label would be attacker-chosen): they count
 * under `rpc_rejected_total{reason="unknown_method"}`.
 *
 * @module
 */

import { ERROR_CODES, type ErrorCode } from "../errors/rpc_error.ts";
import type { PoolLike } from "./method.ts";

/** The outcome codes a request can end with: "ok" and every error code. */
const OUTCOMES = ["ok", ...Object.keys(ERROR_CODES)] as readonly string[];
const OUTCOME_INDEX: ReadonlyMap<string, number> = new Map(OUTCOMES.map((c, i) => [c, i]));

/** Why a request was refused before its handler ran. */
export const REJECT_REASONS = [
  "unknown_method",
  "too_large",
  "pool_exhausted",
  "bad_request",
  "unsupported_media_type",
  "batch_too_large",
  "unauthenticated",
  "permission_denied",
  "share_connection",
  "share_principal",
  "json_budget",
] as const;

/** One reason of `REJECT_REASONS`. */
export type RejectReason = typeof REJECT_REASONS[number];

/** Upper bounds of the duration histogram buckets, in seconds. */
export const DURATION_BUCKETS_SECONDS = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
] as const;

/**
 * The service's request counters.
 *
 * @example
 * ```ts
 * const metrics = new RpcMetrics(["system.echo"]);
 * metrics.recordRequest(0, "ok", 0.0004);
 * console.log(metrics.render(pool));
 * ```
 */
export class RpcMetrics {
  readonly #methodNames: readonly string[];
  readonly #requests: Float64Array;
  readonly #rejected = new Float64Array(REJECT_REASONS.length);
  readonly #bucketCounts = new Float64Array(DURATION_BUCKETS_SECONDS.length + 1);
  #durationSumSeconds = 0;
  #durationCount = 0;

  constructor(methodNames: readonly string[]) {
    this.#methodNames = [...methodNames];
    this.#requests = new Float64Array(methodNames.length * OUTCOMES.length);
  }

  /** Counts one finished request of method `methodId` with outcome `code`. */
  recordRequest(methodId: number, code: ErrorCode | "ok", durationSeconds: number): void {
    const outcome = OUTCOME_INDEX.get(code) ?? 0;
    if (methodId >= 0 && methodId < this.#methodNames.length) {
      this.#requests[methodId * OUTCOMES.length + outcome]++;
    }
    let b = 0;
    while (b < DURATION_BUCKETS_SECONDS.length && durationSeconds > DURATION_BUCKETS_SECONDS[b]) {
      b++;
    }
    this.#bucketCounts[b]++;
    this.#durationSumSeconds += durationSeconds;
    this.#durationCount++;
  }

  /** Counts one request refused before its handler ran. */
  recordRejected(reason: RejectReason): void {
    this.#rejected[REJECT_REASONS.indexOf(reason)]++;
  }

  /** The count of requests of `methodId` that ended with `code` (tests, dashboards). */
  requestCount(methodId: number, code: ErrorCode | "ok"): number {
    return this.#requests[methodId * OUTCOMES.length + (OUTCOME_INDEX.get(code) ?? 0)] ?? 0;
  }

  /** The count of rejections for `reason`. */
  rejectedCount(reason: RejectReason): number {
    return this.#rejected[REJECT_REASONS.indexOf(reason)];
  }

  /** Prometheus text exposition of the pool and request metrics. */
  render(pool: PoolLike | null): string {
    const lines: string[] = [];
    if (pool !== null) renderPool(pool, lines);
    lines.push("# TYPE rpc_requests_total counter");
    this.#methodNames.forEach((name, id) => {
      OUTCOMES.forEach((code, c) => {
        const n = this.#requests[id * OUTCOMES.length + c];
        if (n > 0) lines.push(`rpc_requests_total{method="${name}",code="${code}"} ${n}`);
      });
    });
    lines.push("# TYPE rpc_rejected_total counter");
    REJECT_REASONS.forEach((reason, i) => {
      lines.push(`rpc_rejected_total{reason="${reason}"} ${this.#rejected[i]}`);
    });
    lines.push("# TYPE rpc_request_duration_seconds histogram");
    let cumulative = 0;
    DURATION_BUCKETS_SECONDS.forEach((le, i) => {
      cumulative += this.#bucketCounts[i];
      lines.push(`rpc_request_duration_seconds_bucket{le="${le}"} ${cumulative}`);
    });
    cumulative += this.#bucketCounts[DURATION_BUCKETS_SECONDS.length];
    lines.push(`rpc_request_duration_seconds_bucket{le="+Inf"} ${cumulative}`);
    lines.push(`rpc_request_duration_seconds_sum ${this.#durationSumSeconds}`);
    lines.push(`rpc_request_duration_seconds_count ${this.#durationCount}`);
    // The process's resident set, under the name Prometheus client libraries use, so an
    // operator can compare it with the pool's fixed size (RSS = pool + runtime + garbage).
    // The V8 heap and the memory V8 accounts outside it (ArrayBuffer backing stores) split the
    // runtime's share, so growth under load can be told from garbage awaiting a collection.
    const memory = Deno.memoryUsage();
    lines.push("# TYPE process_resident_memory_bytes gauge");
    lines.push(`process_resident_memory_bytes ${memory.rss}`);
    lines.push("# TYPE process_heap_used_bytes gauge");
    lines.push(`process_heap_used_bytes ${memory.heapUsed}`);
    lines.push("# TYPE process_heap_external_bytes gauge");
    lines.push(`process_heap_external_bytes ${memory.external}`);
    return lines.join("\n") + "\n";
  }
}

/** Appends the pool_* families, one sample per class. */
function renderPool(pool: PoolLike, lines: string[]): void {
  const classes = pool.stats().classes;
  const families = [
    ["pool_blocks_total", "gauge", "blocksTotal"],
    ["pool_blocks_in_use", "gauge", "blocksInUse"],
    ["pool_alloc_total", "counter", "allocTotal"],
    ["pool_alloc_failures_total", "counter", "allocFailuresTotal"],
  ] as const;
  for (const [name, type, field] of families) {
    lines.push(`# TYPE ${name} ${type}`);
    for (const c of classes) {
      lines.push(`${name}{class_bytes="${c.blockSizeBytes}"} ${c[field]}`);
    }
  }
}

/** What `/metrics` reads from the request log (rpc/request_log.ts): lines it could not write. */
export interface RequestLogCounts {
  readonly droppedLineCount: number;
}

/**
 * The request log's counter in Prometheus text: lines dropped because the sink had not caught up
 * (0 without a log: nothing was dropped).
 *
 * @example
 * ```ts
 * const text = metrics.render(pool) + renderRequestLogMetrics(requestLog);
 * ```
 */
export function renderRequestLogMetrics(requestLog: RequestLogCounts | null): string {
  return "# TYPE request_log_dropped_total counter\n" +
    `request_log_dropped_total ${requestLog?.droppedLineCount ?? 0}\n`;
}
