/**
 * The live dashboard: `GET /` (the page), `GET /dashboard.css`, `GET /dashboard.js` and
 * `GET /api/stats` (the JSON snapshot the page polls about once a second).
 *
 * The page and its assets are strings compiled into the program (no files read at boot), and a
 * strict Content-Security-Policy keeps the page from loading or calling anything but this
 * origin. Auth can gate the routes by path: `DASHBOARD_PATHS` lists them all.
 *
 * @module
 */

import type { Env, Hono, Schema } from "hono";
import { DASHBOARD_CSS } from "./page_css.ts";
import { DASHBOARD_HTML } from "./page_html.ts";
import { DASHBOARD_SCRIPT } from "./page_script.ts";
import { collectDashboardStats, type DashboardSource } from "./stats.ts";

export {
  collectDashboardStats,
  DASHBOARD_METHOD_COUNT_MAX,
  type DashboardMethod,
  type DashboardPoolClass,
  type DashboardSource,
  type DashboardStats,
} from "./stats.ts";

/** The routes the dashboard serves (all GET), for auth or a proxy to gate. */
export const DASHBOARD_PATHS = {
  page: "/",
  stylesheet: "/dashboard.css",
  script: "/dashboard.js",
  stats: "/api/stats",
} as const;

/** Only this origin, no inline code, no frames, no form posts: the page works offline. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every dashboard response carries. */
const COMMON_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

/**
 * Adds the dashboard's GET routes to a Hono app (of any env: the routes read no bindings).
 *
 * @example
 * ```ts
 * mountDashboard(app, { pool, metrics, methodNames: registry.methods.map((m) => m.name) });
 * ```
 */
export function mountDashboard<E extends Env, S extends Schema, B extends string>(
  app: Hono<E, S, B>,
  source: DashboardSource,
): void {
  if (source === null || typeof source !== "object" || source.pool === undefined) {
    throw new TypeError("Cannot mount dashboard: a source with pool and metrics is required");
  }
  const asset = (body: string, contentType: string, extra: Record<string, string> = {}) => () =>
    new Response(body, {
      headers: { "content-type": contentType, ...COMMON_HEADERS, ...extra },
    });
  app.get(
    DASHBOARD_PATHS.page,
    asset(DASHBOARD_HTML, "text/html; charset=utf-8", {
      "content-security-policy": DASHBOARD_CSP,
      "cache-control": "no-cache",
    }),
  );
  app.get(
    DASHBOARD_PATHS.stylesheet,
    asset(DASHBOARD_CSS, "text/css; charset=utf-8", { "cache-control": "no-cache" }),
  );
  app.get(
    DASHBOARD_PATHS.script,
    asset(DASHBOARD_SCRIPT, "text/javascript; charset=utf-8", { "cache-control": "no-cache" }),
  );
  app.get(DASHBOARD_PATHS.stats, () =>
    new Response(JSON.stringify(collectDashboardStats(source)), {
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
        ...COMMON_HEADERS,
      },
    }));
}
