/**
 * A fixed boot plan over given pool classes, for tests and benches that open their own pool
 * instead of planning one from memory.
 *
 * @module
 */

import type { PoolPlanLike } from "../rpc/method.ts";

/** What a fixed plan may set besides its classes. */
export interface FixedPlanOptions {
  /** Default 128 (the low-memory figure of the design notes). */
  readonly maxPropertiesPerOverlap?: number;
  /** Default: the largest class's block size. */
  readonly messageBytesMax?: number;
  /** Default "rpc". */
  readonly profile?: string;
}

/**
 * The plan of a pool of exactly `classes`: total bytes summed, limits from `options`.
 *
 * @example
 * ```ts
 * const plan = fixedPlan([{ blockSizeBytes: 4096, blockCount: 8 }]);
 * ```
 */
export function fixedPlan(
  classes: PoolPlanLike["classes"],
  options: FixedPlanOptions = {},
): PoolPlanLike {
  if (classes.length === 0) throw new RangeError("Cannot build a plan: no pool classes");
  return {
    classes,
    totalBytes: classes.reduce((n, c) => n + c.blockSizeBytes * c.blockCount, 0),
    maxPropertiesPerOverlap: options.maxPropertiesPerOverlap ?? 128,
    messageBytesMax: options.messageBytesMax ?? classes[classes.length - 1].blockSizeBytes,
    profile: options.profile ?? "rpc",
  };
}
