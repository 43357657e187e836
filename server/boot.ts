/**
 * Boot: configuration → memory budget → pool plan → libpool. Returns the booted pieces so
 * `main.ts` stays small and later stages (store, HTTP listeners) are added here.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { type FileReader, memoryBudget } from "../pool/budget.ts";
import { planPool, type PoolPlan } from "../pool/plan.ts";
import { Pool } from "../pool/pool.ts";

/** Options of {@link bootPlan}. */
export interface BootPlanOptions {
  /** Reads /proc and /sys (tests pass a fixture reader); default: the real filesystem. */
  readonly read?: FileReader;
}

/**
 * Computes the frozen boot plan for a configuration: the budget (`--pool-bytes` or derived from
 * memory), then the classes, counts and `maxPropertiesPerOverlap`. Throws `PoolPlanError` when
 * the budget cannot hold the smallest plan. Opens nothing: `--dry-run` stops here.
 *
 * @example
 * ```ts
 * const plan = bootPlan(loadConfig(["--pool-bytes", "64MiB"]));
 * plan.budgetBytes; // 67108864
 * ```
 */
export function bootPlan(
  config: Pick<Config, "poolBytes" | "profile">,
  options: BootPlanOptions = {},
): PoolPlan {
  const budget = memoryBudget({ poolBytes: config.poolBytes, read: options.read });
  return planPool(budget, { profile: config.profile });
}

/** What boot produced. */
export interface Booted {
  readonly config: Config;
  readonly plan: PoolPlan;
  /** The pool, mapped (and prefaulted) exactly as the plan says. */
  readonly pool: Pool;
  /** Releases what boot acquired (closes the pool). Idempotent. */
  close(): void;
}

/** Options of {@link boot}. */
export interface BootOptions extends BootPlanOptions {
  /** libpool.so's path (a compiled executable passes its embedded copy). */
  readonly libraryPath?: string;
  /**
   * Touch every page at boot (default true): the memory is committed now, so a budget the host
   * cannot back fails at start instead of as an OOM kill under load.
   */
  readonly prefault?: boolean;
}

/**
 * Boots the service's fixed resources: the plan, then the pool it sizes.
 *
 * @example
 * ```ts
 * const booted = boot(loadConfig(Deno.args));
 * try {
 *   console.log(booted.pool.blockSizeBytesMax);
 * } finally {
 *   booted.close();
 * }
 * ```
 */
export function boot(config: Config, options: BootOptions = {}): Booted {
  const plan = bootPlan(config, options);
  const pool = Pool.open(plan.classes, {
    prefault: options.prefault ?? true,
    libraryPath: options.libraryPath,
  });
  return Object.freeze({
    config,
    plan,
    pool,
    close: () => pool.close(),
  });
}
