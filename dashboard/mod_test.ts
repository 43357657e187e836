import assert from "@std/assert";
import { Hono } from "hono";
import { Pool } from "../pool/mod.ts";
import { RpcMetrics } from "../rpc/metrics.ts";
import { DASHBOARD_CSP, DASHBOARD_PATHS, type DashboardStats, mountDashboard } from "./mod.ts";
import { DASHBOARD_SCRIPT } from "./page_script.ts";

Deno.test("dashboard: routes serve the page, its assets under a strict CSP, and the stats", async () => {
  const pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 2 }]);
  try {
    const app = new Hono();
    const metrics = new RpcMetrics(["system.echo"]);
    mountDashboard(app, { pool, metrics, methodNames: ["system.echo"] });
    const page = await app.request(DASHBOARD_PATHS.page);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.equal(page.headers.get("content-security-policy"), DASHBOARD_CSP);
    const html = await page.text();
    assert.match(html, /<script src="\/dashboard\.js" defer><\/script>/);
    // Nothing but this origin: no absolute URL in the page except the SVG namespace.
    const script = await (await app.request(DASHBOARD_PATHS.script)).text();
    const css = await (await app.request(DASHBOARD_PATHS.stylesheet)).text();
    for (const text of [html, script, css]) {
      const urls = text.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi) ?? [];
      assert.deepEqual(urls.filter((u) => !u.endsWith("www.w3.org")), []);
    }
    assert.equal(script, DASHBOARD_SCRIPT);
    assert.ok(css.includes(".bar"));
    metrics.recordRequest(0, "ok", 0.001);
    const stats = await app.request(DASHBOARD_PATHS.stats);
    assert.equal(stats.headers.get("cache-control"), "no-store");
    const body = await stats.json() as DashboardStats;
    assert.equal(body.methods[0].okTotal, 1);
    assert.equal(body.pool.classes[0].blocksTotal, 2);
  } finally {
    pool.close();
  }
});

Deno.test("dashboard: the browser script parses as JavaScript", () => {
  // A backquote or a dollar-brace inside String.raw would have cut or changed the script.
  assert.doesNotThrow(() => new Function(DASHBOARD_SCRIPT));
  assert.ok(DASHBOARD_SCRIPT.trimEnd().endsWith("})();"));
});

Deno.test("dashboard: mounting without a source is a TypeError", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => mountDashboard(new Hono(), null as any),
    (error: unknown) => error instanceof TypeError && /Cannot mount dashboard/.test(error.message),
  );
});
