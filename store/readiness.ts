/**
 * The store's part of readiness (`/readyz`): the database answers, and it can take writes
 * (`Store.health()`: the last store failure, else a write probe; see `store/health.ts`), within
 * a bounded time.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { Store } from "./types.ts";

/** How long readiness waits for the store by default. */
export const STORE_READY_TIMEOUT_MS_DEFAULT = 1000;

/** Options of {@link storeReadinessProblem}. */
export interface StoreReadinessOptions {
  /** The service's clock: the bound is one of its timeouts (docs/design.md, "One clock"). */
  readonly clock: Pick<Clock, "within">;
  /** The bound on ping, and again on health; default {@link STORE_READY_TIMEOUT_MS_DEFAULT}. */
  readonly timeoutMs?: number;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * Null when the store is ready, else the one-line reason `/readyz` answers with 503. A store
 * that hangs does not hang readiness: after `timeoutMs` the answer is "no answer".
 *
 * @example
 * ```ts
 * const problem = await storeReadinessProblem(store, { clock, timeoutMs: 1000 });
 * if (problem !== null) console.log(problem); // e.g. "not ready: store cannot take writes: ..."
 * ```
 */
export async function storeReadinessProblem(
  store: Store,
  options: StoreReadinessOptions,
): Promise<string | null> {
  const timeoutMs = options.timeoutMs ?? STORE_READY_TIMEOUT_MS_DEFAULT;
  const late = "late" as const;
  try {
    const reached = await options.clock.within(store.ping(), timeoutMs, late);
    if (reached === late) return `not ready: store unreachable (no answer in ${timeoutMs} ms)`;
  } catch (error) {
    return `not ready: store unreachable (${reasonOf(error)})`;
  }
  try {
    const report = await options.clock.within(store.health(), timeoutMs, late);
    if (report === late) {
      return `not ready: store cannot take writes (no probe answer in ${timeoutMs} ms)`;
    }
    return report.ok ? null : `not ready: store cannot take writes: ${report.problem}`;
  } catch (error) {
    return `not ready: store cannot take writes (${reasonOf(error)})`;
  }
}
