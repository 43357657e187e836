/**
 * The dashboard over real HTTP/1.1 sockets of the real service: `/` is the page, `/api/stats`
 * has the documented shape, and its counters and pool gauges move with real calls and leases.
 */

import assert from "@std/assert";
import type { DashboardStats } from "../dashboard/mod.ts";
import { startTestService } from "./_rpc_harness.ts";

async function stats(baseUrl: string): Promise<DashboardStats> {
  const response = await fetch(`${baseUrl}/api/stats`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  return await response.json();
}

async function echo(baseUrl: string, body: string): Promise<number> {
  const response = await fetch(`${baseUrl}/rpc/system.echo`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test("dashboard h1: / is the page, and /api/stats moves with calls and leases", async () => {
  const t = await startTestService();
  try {
    const page = await fetch(`${t.plainUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
    assert.match(await page.text(), /<h2 id="pool-title">Pool occupancy<\/h2>/);
    for (const [path, type] of [["/dashboard.js", /javascript/], ["/dashboard.css", /css/]]) {
      const asset = await fetch(`${t.plainUrl}${path}`);
      assert.equal(asset.status, 200, String(path));
      assert.match(asset.headers.get("content-type")!, type as RegExp);
      await asset.body?.cancel();
    }

    const before = await stats(t.plainUrl);
    assert.deepEqual(
      before.pool.classes.map((c) => [c.blockSizeBytes, c.blocksTotal, c.blocksInUse]),
      [[4096, 8, 0], [65536, 4, 0]],
    );
    const echoBefore = before.methods.find((m) => m.name === "system.echo")!;
    assert.ok(before.methods.some((m) => m.name === "worknode.create"));
    assert.equal(typeof before.rejectedByReason.unknown_method, "number");

    for (let i = 0; i < 3; i++) {
      assert.equal(await echo(t.plainUrl, JSON.stringify({ payload: btoa(`hi ${i}`) })), 200);
    }
    assert.equal(await echo(t.plainUrl, "{not json"), 400);
    const unknown = await fetch(`${t.plainUrl}/rpc/no.such`, { method: "POST", body: "{}" });
    assert.equal(unknown.status, 501);
    await unknown.body?.cancel();
    // Two leases held by the test itself show as blocks in use and raise the high watermark.
    const leases = [t.pool.tryAcquire(100)!, t.pool.tryAcquire(5000)!];
    const during = await stats(t.plainUrl);
    leases.forEach((lease) => lease.release());

    const echoDuring = during.methods.find((m) => m.name === "system.echo")!;
    assert.equal(echoDuring.okTotal - echoBefore.okTotal, 3);
    assert.equal(echoDuring.errorTotal - echoBefore.errorTotal, 1);
    assert.equal(echoDuring.errorsByCode.invalid_argument, 1);
    assert.equal(
      during.rejectedByReason.unknown_method - before.rejectedByReason.unknown_method,
      1,
    );
    assert.deepEqual(during.pool.classes.map((c) => c.blocksInUse), [1, 1]);
    assert.ok(during.pool.classes.every((c) => c.blocksInUseHighWatermark >= 1));
    assert.ok(during.timeMs >= before.timeMs);

    const after = await stats(t.plainUrl);
    assert.deepEqual(after.pool.classes.map((c) => c.blocksInUse), [0, 0]);
  } finally {
    await t.close();
  }
});
