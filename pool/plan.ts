/**
 * The boot plan of the slab pool: size classes, block counts per class, and the frozen
 * `maxPropertiesPerOverlap`, all derived from a memory budget and a workload profile.
 *
 * Pure functions, no FFI: `Pool.open(plan.classes)` maps exactly `plan.totalBytes`.
 *
 * How the plan is made:
 * 1. `maxPropertiesPerOverlap` is the largest power of two in [128, 4096] whose message class
 *    (the smallest class holding {@link messageBytesMax} bytes), times
 *    {@link LARGEST_CLASS_BLOCKS_MIN} blocks, fits in the profile's `largestClassShareMax` of the
 *    budget. The default `rpc` profile gives 128 below 128 MiB, 1024 from 512 MiB (the automatic
 *    maximum) and 4096 from 2 GiB.
 * 2. Size classes double from {@link BLOCK_SIZE_BYTES_MIN} (4 KiB) up to that message class, so
 *    neighbours differ by a ratio of 2 and a request never wastes more than half its block
 *    (beyond the first 4 KiB). Starting at 4 KiB keeps the largest plan (4096 properties, a
 *    64 MiB class) at 15 classes, within libpool's 16, and keeps every block page-aligned.
 * 3. Every class gets one block; the largest gets at least two when the budget allows (one
 *    maximal overlap in flight while another is read). The rest of the budget is split between
 *    classes by the profile's byte weights, and what rounding leaves goes to the smallest class.
 *
 * @module
 */

import { shareCaps } from "./share_caps.ts";
import type { BudgetSource, MemoryBudget } from "./budget.ts";
// The region formula lives with libpool's binding, so the plan's total is what libpool maps.
import { regionBytesFor } from "./pool.ts";

/** Workload profiles: how the budget is split between small and large blocks. */
export const PROFILES = {
  /**
   * Many small and mid-sized calls, a few large ones: most bytes go to classes up to 64 KiB,
   * and the largest class's two blocks take at most 1/16 of the budget.
   */
  rpc: {
    largestClassShareMax: 1 / 16,
    largestClassBudgetShare: 0,
    weights: { smallUpTo64KiB: 4, midUpTo1MiB: 2, large: 1 },
  },
  /**
   * Bulk transfers of large overlaps: a quarter of the budget goes to the largest class, and
   * the other large classes weigh most.
   */
  bulk: {
    largestClassShareMax: 1 / 8,
    largestClassBudgetShare: 1 / 4,
    weights: { smallUpTo64KiB: 1, midUpTo1MiB: 2, large: 4 },
  },
} as const;

/** A workload profile name: `"rpc"` (default) or `"bulk"`. */
export type Profile = keyof typeof PROFILES;

/** The smallest block: one page. */
export const BLOCK_SIZE_BYTES_MIN = 4096;
/** libpool's limits on the class table (the fixed contract with native/). */
export const CLASS_COUNT_MAX = 16;
export const BLOCK_COUNT_MAX = 2 ** 24 - 1;
/** Bounds of `maxPropertiesPerOverlap` (hard maximum 4096, from the user's design). */
export const MAX_PROPERTIES_MIN = 128;
export const MAX_PROPERTIES_MAX = 4096;
/** How many blocks of the largest class the plan keeps when the budget allows. */
export const LARGEST_CLASS_BLOCKS_MIN = 2;

/** A property's value is at most 8 KiB and its key at most 256 bytes. */
export const PROPERTY_VALUE_BYTES_MAX = 8192;
export const PROPERTY_KEY_BYTES_MAX = 256;
/**
 * Cap'n Proto overhead per property, generously: its struct in a composite list (up to 8 words
 * of data and pointers = 64 B), the key's NUL and padding to a word (8 B), the value's padding
 * (7 B), rounded up to 128 B.
 */
export const PROPERTY_FRAMING_BYTES = 128;
/**
 * Cap'n Proto overhead per message: the segment table, the RpcRequest envelope (method name,
 * ids, deadline), the overlap's header (two worknode ids and versions) and list tags.
 */
export const MESSAGE_ENVELOPE_BYTES = 4096;

const PAGE_BYTES = 4096;

/** One size class: libpool's input. */
export interface PoolClass {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
}

/** The frozen boot plan. */
export interface PoolPlan {
  readonly budgetBytes: number;
  readonly budgetSource: BudgetSource;
  /** The usable memory the budget came from; null when given by `--pool-bytes`. */
  readonly usableBytes: number | null;
  readonly profile: Profile;
  readonly classes: readonly PoolClass[];
  /** Exactly the bytes libpool maps for `classes` (`regionBytesFor`); <= budgetBytes. */
  readonly totalBytes: number;
  readonly maxPropertiesPerOverlap: number;
  /** The largest message the plan admits (sheaf.overlap's request limit). */
  readonly messageBytesMax: number;
}

/** A budget that cannot hold the smallest plan. */
export class PoolPlanError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "PoolPlanError";
  }
}

/**
 * The largest message (bytes) for `maxProperties` properties: each up to 8 KiB of value and
 * 256 B of key plus framing, plus one envelope.
 *
 * @example
 * ```ts
 * messageBytesMax(1024); // 8785920 (~8.4 MiB) -> held by a 16 MiB class
 * ```
 */
export function messageBytesMax(maxProperties: number): number {
  if (!Number.isSafeInteger(maxProperties) || maxProperties < 0 || maxProperties > 1_000_000) {
    throw new RangeError(`Cannot size a message for ${maxProperties} properties`);
  }
  const propertyBytes = PROPERTY_VALUE_BYTES_MAX + PROPERTY_KEY_BYTES_MAX + PROPERTY_FRAMING_BYTES;
  return MESSAGE_ENVELOPE_BYTES + maxProperties * propertyBytes;
}

/** Block sizes doubling from 4 KiB to the smallest power of two >= `messageBytes`. */
export function classSizesFor(messageBytes: number): number[] {
  const sizes: number[] = [];
  for (let size = BLOCK_SIZE_BYTES_MIN; sizes.length < CLASS_COUNT_MAX; size *= 2) {
    sizes.push(size);
    if (size >= messageBytes) return sizes;
  }
  throw new RangeError(`Cannot hold a ${messageBytes}-byte message in ${CLASS_COUNT_MAX} classes`);
}

/** The largest block size the plan for `maxProperties` needs. */
function largestClassBytesFor(maxProperties: number): number {
  const sizes = classSizesFor(messageBytesMax(maxProperties));
  return sizes[sizes.length - 1];
}

/**
 * `maxPropertiesPerOverlap` for a budget and profile: the largest power of two in
 * [128, 4096] whose largest class, twice, fits in the profile's share of the budget.
 *
 * @example
 * ```ts
 * maxPropertiesFor(512 * 1024 * 1024, "rpc"); // 1024
 * ```
 */
export function maxPropertiesFor(budgetBytes: number, profile: Profile): number {
  const shareBytes = budgetBytes * PROFILES[profile].largestClassShareMax;
  let chosen = MAX_PROPERTIES_MIN;
  for (let props = MAX_PROPERTIES_MIN; props <= MAX_PROPERTIES_MAX; props *= 2) {
    if (LARGEST_CLASS_BLOCKS_MIN * largestClassBytesFor(props) <= shareBytes) chosen = props;
  }
  return chosen;
}

/** The smallest budget any plan fits in: one block of every class for 128 properties. */
export function budgetBytesMin(): number {
  const sizes = classSizesFor(messageBytesMax(MAX_PROPERTIES_MIN));
  return regionBytesFor(sizes.map((blockSizeBytes) => ({ blockSizeBytes, blockCount: 1 })));
}

/** The byte weight of a (non-largest) class in a profile. */
function classWeight(blockSizeBytes: number, profile: Profile): number {
  const weights = PROFILES[profile].weights;
  if (blockSizeBytes <= 64 * 1024) return weights.smallUpTo64KiB;
  if (blockSizeBytes <= 1024 * 1024) return weights.midUpTo1MiB;
  return weights.large;
}

/** Block counts: the minimum blocks, then the profile's split, then the smallest class fills. */
function blockCountsFor(sizes: readonly number[], budgetBytes: number, profile: Profile): number[] {
  const last = sizes.length - 1;
  const counts = sizes.map(() => 1);
  const region = () =>
    regionBytesFor(sizes.map((s, i) => ({ blockSizeBytes: s, blockCount: counts[i] })));
  const largestShareBlocks = Math.floor(
    (budgetBytes * PROFILES[profile].largestClassBudgetShare) / sizes[last],
  );
  counts[last] = Math.max(LARGEST_CLASS_BLOCKS_MIN, largestShareBlocks);
  if (region() > budgetBytes) counts[last] = 1;
  // Two metadata pages are the most the header and its rounding can take.
  const spareBytes = budgetBytes - region() - 2 * PAGE_BYTES;
  const weightTotal = sizes.slice(0, last).reduce((sum, s) => sum + classWeight(s, profile), 0);
  for (let i = 0; i < last && spareBytes > 0; i++) {
    const shareBytes = (spareBytes * classWeight(sizes[i], profile)) / weightTotal;
    counts[i] = Math.min(BLOCK_COUNT_MAX, counts[i] + Math.floor(shareBytes / (sizes[i] + 8)));
  }
  fillWithSmallest(counts, sizes, budgetBytes, region);
  return counts;
}

/** Adds smallest-class blocks until the budget is used up as far as 4 KiB blocks can. */
function fillWithSmallest(
  counts: number[],
  sizes: readonly number[],
  budgetBytes: number,
  region: () => number,
): void {
  const slackBytes = budgetBytes - region();
  if (slackBytes > 0) {
    const extra = Math.floor(slackBytes / (sizes[0] + 8));
    counts[0] = Math.min(BLOCK_COUNT_MAX, counts[0] + extra);
  }
  // The metadata area may have grown by a page: at most two blocks come back off.
  for (let attempt = 0; attempt < 4 && region() > budgetBytes && counts[0] > 1; attempt++) {
    counts[0] -= 1;
  }
}

/** Options of {@link planPool}. */
export interface PlanPoolOptions {
  /** Workload profile; default `"rpc"`. */
  readonly profile?: Profile;
}

/**
 * Makes the frozen boot plan for a memory budget. Throws {@link PoolPlanError} when the budget
 * cannot hold the smallest plan.
 *
 * @example
 * ```ts
 * const plan = planPool(memoryBudget({ poolBytes: 64 * 1024 * 1024 }), { profile: "rpc" });
 * plan.totalBytes <= 67108864; // true
 * ```
 */
export function planPool(budget: MemoryBudget, options: PlanPoolOptions = {}): PoolPlan {
  const profile = options.profile ?? "rpc";
  if (!Object.hasOwn(PROFILES, profile)) {
    throw new TypeError(`Cannot plan the pool: unknown profile "${profile}"`);
  }
  const budgetBytes = budget.budgetBytes;
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes <= 0) {
    throw new RangeError(`Cannot plan the pool: budget ${budgetBytes} is not a positive integer`);
  }
  const minimumBytes = budgetBytesMin();
  if (budgetBytes < minimumBytes) {
    throw new PoolPlanError(
      `Cannot plan the pool: budget ${budgetBytes} bytes (${budget.source}) is below the ` +
        `smallest plan, ${minimumBytes} bytes`,
    );
  }
  const maxPropertiesPerOverlap = maxPropertiesFor(budgetBytes, profile);
  const messageBytes = messageBytesMax(maxPropertiesPerOverlap);
  const sizes = classSizesFor(messageBytes);
  const counts = blockCountsFor(sizes, budgetBytes, profile);
  const classes = sizes.map((blockSizeBytes, i) =>
    Object.freeze({ blockSizeBytes, blockCount: counts[i] })
  );
  const totalBytes = regionBytesFor(classes);
  if (totalBytes > budgetBytes) {
    throw new PoolPlanError(`Cannot plan the pool: ${totalBytes} bytes exceed ${budgetBytes}`);
  }
  return Object.freeze({
    budgetBytes,
    budgetSource: budget.source,
    usableBytes: budget.usableBytes,
    profile,
    classes: Object.freeze(classes),
    totalBytes,
    maxPropertiesPerOverlap,
    messageBytesMax: messageBytes,
  });
}

/**
 * The plan as a JSON-ready summary (each class with its bytes), for `--dry-run`.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(planSummary(plan), null, 2));
 * ```
 */
export function planSummary(plan: PoolPlan): Record<string, unknown> {
  return {
    profile: plan.profile,
    budgetBytes: plan.budgetBytes,
    budgetSource: plan.budgetSource,
    usableBytes: plan.usableBytes,
    totalBytes: plan.totalBytes,
    maxPropertiesPerOverlap: plan.maxPropertiesPerOverlap,
    messageBytesMax: plan.messageBytesMax,
    classes: plan.classes.map((c) => ({
      blockSizeBytes: c.blockSizeBytes,
      blockCount: c.blockCount,
      bytes: c.blockSizeBytes * c.blockCount,
    })),
    // What one connection and one (non-admin) token may hold at once (pool/share_caps.ts).
    shares: shareCaps(plan.classes),
  };
}
