/**
 * Per-interval counters of the frames HTTP/2 floods are made of (RFC 9113 §10.5): rapid reset,
 * SETTINGS, PING, empty DATA, WINDOW_UPDATE and PRIORITY floods, refused streams and stream
 * errors we had to answer. Each kind has a cap per interval; passing it is a connection error
 * ENHANCE_YOUR_CALM. Counting is a few array writes per frame; the interval restarts lazily on
 * the first count after it ended.
 *
 * @example
 * ```ts
 * import { FLOOD, FloodGuard } from "./flood.ts";
 * const guard = new FloodGuard(limits);
 * guard.count(FLOOD.PING, clock.nowMs); // throws H2Error ENHANCE_YOUR_CALM past the cap
 * ```
 * @module
 */

import { H2Error } from "./errors.ts";
import type { H2Limits } from "./limits.ts";

/** The counted kinds. */
export const FLOOD = {
  RESET: 0,
  PING: 1,
  SETTINGS: 2,
  EMPTY_DATA: 3,
  WINDOW_UPDATE: 4,
  PRIORITY: 5,
  REFUSED_STREAM: 6,
  STREAM_ERROR: 7,
} as const;

/** Names of the kinds, for messages and metrics (index = kind). */
export const FLOOD_NAMES = [
  "rapid_reset",
  "ping_flood",
  "settings_flood",
  "empty_data_flood",
  "window_update_flood",
  "priority_flood",
  "refused_stream_abuse",
  "stream_error_flood",
] as const;

/** The reason a connection was calmed, e.g. "rapid_reset". */
export type FloodName = (typeof FLOOD_NAMES)[number];

/**
 * A flood cap was passed: a connection error ENHANCE_YOUR_CALM naming the flood.
 *
 * @example
 * ```ts
 * if (error instanceof FloodError) metrics.calmed(error.flood);
 * ```
 */
export class FloodError extends H2Error {
  readonly flood: FloodName;

  constructor(flood: FloodName, message: string) {
    super("ENHANCE_YOUR_CALM", `${flood}: ${message}`);
    this.name = "FloodError";
    this.flood = flood;
  }
}

/**
 * Counts floods over an interval.
 *
 * @example
 * ```ts
 * const guard = new FloodGuard(h2Limits({ pingsPerIntervalMax: 10 }));
 * for (let i = 0; i < 10; i++) guard.count(FLOOD.PING, 0); // fine; the 11th throws
 * ```
 */
export class FloodGuard {
  readonly #caps: Uint32Array;
  readonly #counts = new Uint32Array(FLOOD_NAMES.length);
  readonly #credits = new Uint32Array(FLOOD_NAMES.length);
  readonly #intervalMs: number;
  #intervalStartMs = -Infinity;

  constructor(limits: H2Limits) {
    this.#intervalMs = limits.floodIntervalMs;
    this.#caps = Uint32Array.from([
      limits.resetsPerIntervalMax,
      limits.pingsPerIntervalMax,
      limits.settingsPerIntervalMax,
      limits.emptyDataPerIntervalMax,
      limits.windowUpdatesPerIntervalMax,
      limits.prioritiesPerIntervalMax,
      limits.refusedStreamsPerIntervalMax,
      limits.streamErrorsPerIntervalMax,
    ]);
  }

  #roll(nowMs: number): void {
    if (nowMs - this.#intervalStartMs < this.#intervalMs) return;
    this.#intervalStartMs = nowMs;
    this.#counts.fill(0);
    this.#credits.fill(0);
  }

  /** Counts one frame of `kind`; throws H2Error ENHANCE_YOUR_CALM past its cap. */
  count(kind: number, nowMs: number): void {
    this.#roll(nowMs);
    const count = ++this.#counts[kind];
    if (count > this.#caps[kind] + this.#credits[kind]) {
      const allowed = this.#caps[kind] + this.#credits[kind];
      throw new FloodError(FLOOD_NAMES[kind], `more than ${allowed} in ${this.#intervalMs} ms`);
    }
  }

  /** Raises this interval's cap of `kind` by `n` (WINDOW_UPDATEs earned by DATA we sent). */
  credit(kind: number, n: number, nowMs: number): void {
    this.#roll(nowMs);
    this.#credits[kind] = Math.min(0xffffffff, this.#credits[kind] + n);
  }

  /** The count of `kind` in the current interval (tests). */
  countOf(kind: number): number {
    return this.#counts[kind];
  }
}
