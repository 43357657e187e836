/**
 * Chromium (Debian's, headless, driven by playwright-core) loads a page from the service over
 * HTTP/3 and performs RPCs with fetch, JSON and binary: status 200 and nextHopProtocol "h3".
 * Chromium uses our QPACK dynamic table, GREASE and PRIORITY_UPDATE, so this is the interop test.
 */

import assert from "@std/assert";
import { launchChromiumForH3 } from "./_chromium.ts";
import { eventually, startH3Service } from "./_h3_service.ts";

Deno.test({
  name: "h3: Chromium loads a page and calls system.echo over HTTP/3",
  async fn() {
    const t = await startH3Service();
    const leafPem = await Deno.readTextFile(t.svc.certPath);
    const chrome = await launchChromiumForH3({ port: t.port, leafPem });
    try {
      const page = await chrome.context.newPage();
      const response = await page.goto(`${t.origin}/healthz`, { timeout: 60_000 });
      assert.equal(response?.status(), 200);
      assert.equal((await response?.text())?.trim(), "ok");
      const result = await page.evaluate(async () => {
        const calls = [];
        for (let i = 0; i < 20; i++) {
          const r = await fetch("/rpc/system.echo", {
            method: "POST",
            headers: { "content-type": "application/json", "x-call": `call-${i}` },
            body: JSON.stringify({ payload: btoa(`hello ${i}`) }),
          });
          calls.push([r.status, atob((await r.json()).payload)]);
        }
        // Browser-side types (PerformanceNavigationTiming) are not in Deno's lib: read the field.
        type Timing = { nextHopProtocol: string };
        const nav = performance.getEntriesByType("navigation")[0] as unknown as Timing;
        const resources = performance.getEntriesByType("resource") as unknown as Timing[];
        return {
          calls,
          navigation: nav.nextHopProtocol,
          resources: resources.map((entry) => entry.nextHopProtocol),
        };
      });
      result.calls.forEach(([status, text], i) => {
        assert.deepEqual([status, text], [200, `hello ${i}`]);
      });
      assert.equal(result.navigation, "h3");
      assert.ok(result.resources.length >= 20);
      assert.ok(result.resources.every((protocol) => protocol === "h3"), String(result.resources));
      // Chromium compressed its headers with our dynamic table (SETTINGS allow 4096 bytes).
      const stats = t.svc.h3.stats();
      assert.ok(stats.qpackInsertCount > 0, JSON.stringify(stats));
      assert.ok(stats.requestCount >= 21, JSON.stringify(stats));
      await Deno.mkdir(".test-artifacts", { recursive: true });
      await page.screenshot({ path: ".test-artifacts/h3_chromium.png" });
      await page.close();
    } finally {
      await chrome.close();
      await t.close();
    }
  },
});

Deno.test("h3: Chromium aborting a streaming upload mid-body leaves the pool at 0 in use", async () => {
  const t = await startH3Service();
  const leafPem = await Deno.readTextFile(t.svc.certPath);
  const chrome = await launchChromiumForH3({ port: t.port, leafPem });
  try {
    const page = await chrome.context.newPage();
    await page.goto(`${t.origin}/healthz`, { timeout: 60_000 });
    // A streaming request body (duplex "half"), no content-length: the RPC layer takes a lease
    // for the method's limit and waits for the rest of the body.
    await page.evaluate(async () => {
      const abort = new AbortController();
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const writer = writable.getWriter();
      const state = globalThis as unknown as Record<string, unknown>;
      state.abortUpload = () => abort.abort();
      state.upload = fetch("/rpc/system.echo", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: readable,
        signal: abort.signal,
        ...({ duplex: "half" } as Record<string, string>),
      }).then((r) => `status ${r.status}`, (e) => `rejected ${e.name}`);
      await writer.write(new TextEncoder().encode(`{"payload":"${"QUJD".repeat(500)}`));
    });
    await eventually(() => t.pool.inUseCount() === 1, 30_000);
    const outcome = await page.evaluate(async () => {
      const state = globalThis as unknown as Record<string, unknown>;
      (state.abortUpload as () => void)();
      return await (state.upload as Promise<string>);
    });
    assert.equal(outcome, "rejected AbortError");
    // Chromium reset the stream: the server's body read fails and the lease goes back.
    await eventually(() => t.pool.inUseCount() === 0, 30_000);
    const status = await page.evaluate(async () => (await fetch("/healthz")).status);
    assert.equal(status, 200);
    await page.close();
  } finally {
    await chrome.close();
    await t.close();
  }
});
