/**
 * Chromium (Debian's, headless, via playwright-core) opens the dashboard over HTTP/3: the page
 * and its polls travel over h3, the rate chart fills after real RPCs from the page, the pool bars
 * grow while the test holds leases, and a screenshot is kept in `.test-artifacts/dashboard.png`.
 */

import assert from "@std/assert";
import type { Lease } from "../pool/mod.ts";
import { launchChromiumForH3 } from "./_chromium.ts";
import { startH3Service } from "./_h3_service.ts";

/** The few DOM shapes the page-side callbacks use (Deno's lib has no DOM types). */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  getBoundingClientRect(): { left: number; width: number };
}

/** The browser's `document`, typed for the callbacks that playwright runs inside the page. */
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  getElementById(id: string): PageElement | null;
};

/** What the test reads back from the page's DOM. */
interface DashboardDom {
  readonly navigation: string;
  readonly resourceProtocols: string[];
  readonly chartPoints: number;
  /** The highest plotted requests/s point, in SVG units above the chart's floor. */
  readonly requestLineHeight: number;
  readonly methodRows: string[];
  readonly fills: { bytes: string; inUse: string; widthPx: number; peakLeftPx: number }[];
  readonly status: string;
}

/**
 * Real RPCs from the page, spread over ~2.5 s so several polls see the counters move; a few are
 * malformed so the error line and the rejection bars have data too. Runs in the browser.
 */
const callFromPage = async () => {
  const out: number[] = [];
  for (let i = 0; i < 50; i++) {
    const bad = i % 10 === 9;
    const r = await fetch(bad ? "/rpc/no.such" : "/rpc/system.echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: i % 10 === 4 ? "{broken" : JSON.stringify({ payload: btoa(`call ${i}`) }),
    });
    await r.arrayBuffer();
    out.push(r.status);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return out;
};

/** What the page shows, read in the browser. */
const readDashboard = (): DashboardDom => {
  type Timing = { name: string; nextHopProtocol: string };
  const nav = performance.getEntriesByType("navigation")[0] as unknown as Timing;
  const resources = performance.getEntriesByType("resource") as unknown as Timing[];
  const chart = document.getElementById("rate-chart")!;
  const line = chart.querySelector("polyline.req")?.getAttribute("points") ?? "";
  const ys = line.split(" ").filter(Boolean).map((p: string) => Number(p.split(",")[1]));
  return {
    navigation: nav.nextHopProtocol,
    resourceProtocols: resources.map((r) => r.nextHopProtocol),
    chartPoints: Number(chart.getAttribute("data-points")),
    requestLineHeight: 159 - Math.min(...ys),
    methodRows: [...document.querySelectorAll("#methods tr[data-method]")].map((r) =>
      r.getAttribute("data-method")!
    ),
    fills: [...document.querySelectorAll(".pool-class")].map((row) => {
      const bar = row.querySelector(".bar")!.getBoundingClientRect();
      const fill = row.querySelector(".fill")!;
      const peak = row.querySelector(".peak")!.getBoundingClientRect();
      return {
        bytes: row.getAttribute("data-class-bytes")!,
        inUse: fill.getAttribute("data-in-use")!,
        widthPx: fill.getBoundingClientRect().width,
        peakLeftPx: peak.left - bar.left,
      };
    }),
    status: document.getElementById("status")!.getAttribute("data-state")!,
  };
};

Deno.test({
  name: "dashboard h3: Chromium renders the live page, the chart fills and the bars move",
  async fn() {
    const t = await startH3Service();
    const leafPem = await Deno.readTextFile(t.svc.certPath);
    const chrome = await launchChromiumForH3({ port: t.port, leafPem });
    const leases: Lease[] = [];
    try {
      const page = await chrome.context.newPage();
      const response = await page.goto(`${t.origin}/`, { timeout: 60_000 });
      assert.equal(response?.status(), 200);
      await page.waitForSelector('#status[data-state="live"]', { timeout: 30_000 });

      const statuses = await page.evaluate(callFromPage);
      assert.equal(statuses.filter((s) => s === 200).length, 40, String(statuses));
      // Held by the test: 3 of 8 small blocks and 1 of 4 large ones.
      for (const size of [100, 200, 300, 10_000]) leases.push(t.pool.tryAcquire(size)!);
      assert.equal(t.pool.inUseCount(), 4);

      await page.waitForFunction(
        () => {
          const fills = document.querySelectorAll(".pool-class .fill");
          const chart = document.getElementById("rate-chart");
          return fills.length === 2 && fills[0].getAttribute("data-in-use") === "3" &&
            Number(chart?.getAttribute("data-points")) >= 2 &&
            document.querySelector('#methods tr[data-method="system.echo"]') !== null;
        },
        undefined,
        { timeout: 30_000, polling: 100 },
      );
      // Let the bar's width transition (0.3 s) settle before measuring and the screenshot.
      await page.waitForTimeout(500);
      const dom: DashboardDom = await page.evaluate(readDashboard);
      assert.equal(dom.navigation, "h3");
      assert.ok(dom.resourceProtocols.length >= 3, String(dom.resourceProtocols));
      assert.ok(dom.resourceProtocols.every((p) => p === "h3"), String(dom.resourceProtocols));
      assert.ok(dom.chartPoints >= 2, JSON.stringify(dom));
      assert.ok(dom.requestLineHeight > 1, JSON.stringify(dom));
      assert.ok(dom.methodRows.includes("system.echo"), JSON.stringify(dom));
      assert.deepEqual(dom.fills.map((f) => [f.bytes, f.inUse]), [["4096", "3"], ["65536", "1"]]);
      assert.ok(dom.fills.every((f) => f.widthPx > 0 && f.peakLeftPx > 0), JSON.stringify(dom));
      assert.equal(dom.status, "live");
      const rejected = await page.locator('.rejection[data-reason="unknown_method"] .fill')
        .getAttribute("data-total");
      assert.equal(rejected, "5");

      await Deno.mkdir(".test-artifacts", { recursive: true });
      await page.screenshot({ path: ".test-artifacts/dashboard.png", fullPage: true });

      // After the leases go back, the page shows the pool empty again.
      leases.splice(0).forEach((lease) => lease.release());
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll(".pool-class .fill")].every((f) =>
            f.getAttribute("data-in-use") === "0"
          ),
        undefined,
        { timeout: 30_000, polling: 100 },
      );
      await page.close();
    } finally {
      leases.forEach((lease) => lease.release());
      await chrome.close();
      await t.close();
    }
  },
});
