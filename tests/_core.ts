/**
 * A real call core for transport tests: a small real pool, the production method table, the
 * service's clock and the Hono app, without listeners. Closing it checks the pool is back to 0.
 *
 * @module
 */

import assert from "@std/assert";
import { Clock } from "../clock/mod.ts";
import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import type { Authenticator } from "../rpc/auth.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import type { CallCore, CoreLimits } from "../rpc/core.ts";
import { createCore } from "../rpc/core_deps.ts";
import type { AnyMethodSpec, Services } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import type { RequestLog } from "../rpc/request_log.ts";
import { createHttpApp, type HttpApp } from "../server/http_app.ts";
import { fixedPlan } from "./_plan.ts";

/** Options of `openCore`. */
export interface CoreFixtureOptions {
  readonly classes?: readonly PoolClassConfig[];
  readonly methods?: readonly AnyMethodSpec[];
  readonly rpcTimeoutMsMax?: number;
  readonly auth?: Authenticator | null;
  readonly requestLog?: RequestLog | null;
  readonly coreLimits?: Partial<CoreLimits>;
  readonly jsonBudgetBytes?: number;
}

/** A core over a real pool. */
export interface CoreFixture {
  readonly pool: Pool;
  readonly clock: Clock;
  readonly core: CallCore;
  readonly app: HttpApp;
  readonly services: Services;
  /** Waits for the pool to drain (bounded), asserts it is at 0, closes the pool and clock. */
  close(): Promise<void>;
}

/** The default small pool: 4 KiB x 8, 64 KiB x 2. */
export const CORE_CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 8 },
  { blockSizeBytes: 65536, blockCount: 2 },
];

/**
 * Opens a core.
 *
 * @example
 * ```ts
 * const t = openCore();
 * try { ... } finally { await t.close(); }
 * ```
 */
export function openCore(options: CoreFixtureOptions = {}): CoreFixture {
  const classes = options.classes ?? CORE_CLASSES;
  const pool = Pool.open(classes);
  const registry = createRegistry(options.methods ?? METHODS);
  const plan = fixedPlan(classes);
  const config = { rpcTimeoutMsMax: options.rpcTimeoutMsMax ?? 5000 };
  const services: Services = Object.freeze({ store: null, pool, plan, config, registry });
  const clock = new Clock();
  const core = createCore(services, {
    registry,
    clock,
    binary: createBinaryWire(registry, pool),
    auth: options.auth ?? null,
    requestLog: options.requestLog ?? null,
    limits: options.coreLimits,
    jsonBudgetBytes: options.jsonBudgetBytes,
  });
  const app = createHttpApp({
    services,
    metrics: core.deps.metrics,
    shares: core.deps.shares,
    clock,
  });
  return {
    pool,
    clock,
    core,
    app,
    services,
    async close() {
      const until = Date.now() + 5000;
      while (pool.inUseCount() !== 0 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      clock.close();
    },
  };
}
