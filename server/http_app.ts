/**
 * The Hono app of the service: every route outside the /rpc namespace (the call core owns that
 * one, on every transport). Health, readiness, Prometheus metrics and the dashboard; each
 * transport hands these requests to `fetch`, and a listener's extra fields (Alt-Svc) are added
 * to what it answers.
 *
 * @module
 */

import { Hono } from "hono";
import type { Clock } from "../clock/mod.ts";
import { mountDashboard } from "../dashboard/mod.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import type { Services } from "../rpc/method.ts";
import type { RpcMetrics } from "../rpc/metrics.ts";
import { type FairShares, renderShareCaps } from "../rpc/fair_share.ts";
import { storeReadinessProblem } from "../store/readiness.ts";

/** How long `/readyz` waits for the store's ping. */
export const READY_STORE_TIMEOUT_MS = 1000;

/** Options of `createHttpApp`. */
export interface HttpAppOptions {
  readonly services: Services;
  readonly metrics: RpcMetrics;
  /** The core's fair shares (their caps are served on /metrics). */
  readonly shares: FairShares;
  readonly clock: Clock;
  /** Whether every listener is up (for /readyz); default: always. */
  readonly listening?: () => boolean;
  /** More Prometheus text for /metrics (the listeners' counters); default none. */
  readonly moreMetrics?: () => string;
}

/** The app and a fetch per listener. */
export interface HttpApp {
  readonly app: Hono;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** The same fetch, with `extraHeaders` set on every answer (e.g. the TCP side's Alt-Svc). */
  fetchWith(extraHeaders: HeaderPairs): (request: Request) => Response | Promise<Response>;
}

/**
 * Builds the app.
 *
 * @example
 * ```ts
 * const { fetch } = createHttpApp({ services, metrics: core.deps.metrics, clock });
 * ```
 */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { services, metrics } = options;
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const problem = options.listening?.() === false
      ? "not ready: the listeners are not up"
      : await readinessProblem(services, options.clock);
    return problem === null ? c.text("ready") : c.text(problem, 503);
  });
  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4");
    const more = options.moreMetrics?.() ?? "";
    return c.body(metrics.render(services.pool) + renderShareCaps(options.shares) + more);
  });
  // The live dashboard (GET /, its assets and GET /api/stats): see dashboard/mod.ts.
  mountDashboard(app, {
    pool: services.pool,
    metrics,
    methodNames: services.registry.methods.map((m) => m.name),
  });
  const fetch = (request: Request) => app.fetch(request);
  return {
    app,
    fetch,
    fetchWith(extraHeaders) {
      if (extraHeaders.length === 0) return fetch;
      return async (request) => withFields(await app.fetch(request), extraHeaders);
    },
  };
}

/** Sets `fields` on `response`; a Response with immutable headers goes without them. */
function withFields(response: Response, fields: HeaderPairs): Response {
  try {
    for (const [name, value] of fields) response.headers.set(name, value);
  } catch {
    // Immutable headers: only a hint (Alt-Svc) is lost.
  }
  return response;
}

/** Null when ready, else why not: the smallest class has no free block, or the store fails. */
async function readinessProblem(services: Services, clock: Clock): Promise<string | null> {
  const smallest = services.pool.stats().classes[0];
  if (smallest !== undefined && smallest.blocksInUse >= smallest.blocksTotal) {
    return `not ready: pool class ${smallest.blockSizeBytes} exhausted`;
  }
  const store = services.store;
  if (store === null) return null;
  // The store answers and can take writes, each bounded by READY_STORE_TIMEOUT_MS.
  return await storeReadinessProblem(store, { clock, timeoutMs: READY_STORE_TIMEOUT_MS });
}
