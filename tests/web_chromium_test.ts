/**
 * Chromium (Debian's, headless, via playwright-core) calls the service from pages of two other
 * origins — small static servers on other loopback ports — over HTTP/2 (QUIC off) and over
 * HTTP/3 (QUIC forced): the origin on `corsOrigins` gets its preflights granted, its POSTs and
 * GETs answered and readable (ETag exposed, 304 on If-None-Match); the other origin is blocked by
 * the browser. A page of the service's own origin reads a compressed answer that Chromium
 * decoded (its resource timing shows the coded size).
 */

import assert from "@std/assert";
import { base64Url } from "../client/get_form.ts";
import { Pool } from "../pool/mod.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { RequestLog } from "../rpc/request_log.ts";
import { startService } from "../server/service.ts";
import { type ChromiumH3, launchChromiumForH3, launchChromiumTcp } from "./_chromium.ts";
import { fixedPlan } from "./_plan.ts";

const TOKEN = "web-chromium-token";
const CLASSES = [
  { blockSizeBytes: 4096, blockCount: 16 },
  { blockSizeBytes: 65536, blockCount: 8 },
];

/** A static page server on a loopback port of its own (another origin than the service's). */
function startPageServer(): { origin: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response("<!doctype html><title>app</title>", {
        headers: { "content-type": "text/html" },
      }),
  );
  return { origin: `http://localhost:${server.addr.port}`, close: () => server.shutdown() };
}

/** What a page reports of its calls to the service. */
interface PageOutcome {
  readonly post: [number, boolean];
  readonly get: [number, string | null, string];
  readonly conditional: number;
}

/** Runs in the page: a POST with a token (preflighted), a GET and a conditional GET. */
const callFromPage = async (
  args: { service: string; token: string; message: string },
): Promise<PageOutcome | string> => {
  try {
    const headers = { authorization: `Bearer ${args.token}` };
    const payload = btoa("from another origin ".repeat(200));
    const posted = await fetch(`${args.service}/rpc/system.echo`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ payload }),
    });
    const echoed = (await posted.json()).payload === payload;
    const url = `${args.service}/rpc/worknode.get?encoding=json&message=${args.message}`;
    const got = await fetch(url, { headers });
    const tag = got.headers.get("etag");
    const id = (await got.json()).worknode.id;
    const again = await fetch(url, { headers: { ...headers, "if-none-match": tag ?? "" } });
    return { post: [posted.status, echoed], get: [got.status, tag, id], conditional: again.status };
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
};

/** Runs in a page of the service's origin: a large echo and its resource timing. */
const compressedFromPage = async (): Promise<[number, boolean, number, number]> => {
  const payload = btoa("compress this answer ".repeat(2000));
  const response = await fetch("/rpc/system.echo", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer web-chromium-token" },
    body: JSON.stringify({ payload }),
  });
  const same = (await response.json()).payload === payload;
  type Timing = { name: string; encodedBodySize: number; decodedBodySize: number };
  const entries = performance.getEntriesByType("resource") as unknown as Timing[];
  const entry = entries.filter((e) => e.name.endsWith("/rpc/system.echo")).at(-1)!;
  return [response.status, same, entry.encodedBodySize, entry.decodedBodySize];
};

async function checkBrowser(
  chrome: ChromiumH3,
  setup: { service: string; allowed: string; other: string; message: string },
): Promise<void> {
  const page = await chrome.context.newPage();
  try {
    const args = { service: setup.service, token: TOKEN, message: setup.message };
    await page.goto(`${setup.allowed}/`, { timeout: 60_000 });
    const granted = await page.evaluate(callFromPage, args);
    assert.deepEqual(granted, {
      post: [200, true],
      get: [200, (granted as PageOutcome).get?.[1], "chromium-1"],
      conditional: 304,
    });
    assert.match((granted as PageOutcome).get[1]!, /^W\/"j\.wn\.1\./, "the ETag is exposed");
    await page.goto(`${setup.other}/`, { timeout: 60_000 });
    const blocked = await page.evaluate(callFromPage, args);
    assert.equal(blocked, "TypeError: Failed to fetch");
    await page.goto(`${setup.service}/healthz`, { timeout: 60_000 });
    const [status, same, encodedBytes, decodedBytes] = await page.evaluate(compressedFromPage);
    assert.deepEqual([status, same], [200, true]);
    assert.ok(encodedBytes > 0 && encodedBytes < decodedBytes / 4, `${encodedBytes} coded`);
  } finally {
    await page.close();
  }
}

Deno.test("web: Chromium on two other origins over h2 and h3: one granted, one blocked", async () => {
  const allowed = startPageServer();
  const other = startPageServer();
  const pool = Pool.open(CLASSES);
  const dataDir = await Deno.makeTempDir({ prefix: "web-chromium-" });
  const lines: Record<string, unknown>[] = [];
  const svc = await startService(
    {
      port: 0,
      hostname: "127.0.0.1",
      dataDir,
      rpcTimeoutMsMax: 10_000,
      corsOrigins: [allowed.origin],
    },
    fixedPlan(CLASSES),
    {
      pool,
      quiet: true,
      auth: new Authenticator([{ name: "admin", scope: "admin", sha256: hashToken(TOKEN) }]),
      requestLog: new RequestLog((line) => lines.push(JSON.parse(line))),
    },
  );
  try {
    const service = `https://localhost:${svc.port}`;
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(svc.caPath!)] });
    const created = await fetch(`${service}/rpc/worknode.create`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "chromium-1", kind: "web", properties: [] }),
      client,
    });
    assert.equal(created.status, 200, await created.text());
    client.close();
    const message = base64Url(new TextEncoder().encode('{"id":"chromium-1"}'));
    const leafPem = await Deno.readTextFile(svc.certPath);
    const setup = { service, allowed: allowed.origin, other: other.origin, message };
    for (
      const [transport, launch] of [
        ["h2", () => launchChromiumTcp({ leafPem })],
        ["h3", () => launchChromiumForH3({ port: svc.port, leafPem })],
      ] as const
    ) {
      const chrome = await launch();
      const logged = lines.length;
      try {
        await checkBrowser(chrome, setup);
      } finally {
        await chrome.close();
      }
      const calls = lines.slice(logged).filter((line) => line.method === "worknode.get");
      assert.ok(calls.length >= 2, JSON.stringify(lines.slice(logged)));
      assert.ok(calls.every((line) => line.transport === transport), JSON.stringify(calls));
    }
  } finally {
    await svc.shutdown();
    await Promise.all([allowed.close(), other.close()]);
    assert.equal(pool.inUseCount(), 0);
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
