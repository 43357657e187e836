/**
 * HTTP/2 through the real service (the TLS port and h2c on the plaintext port), with a raw
 * frame client where exact frames matter: two Authorization fields are a 400; a call's window
 * opens only once the core admitted it, a refused call gets its answer and no window; a bare
 * RST_STREAM mid-body is logged canceled with the lease released; h2c prior knowledge works on
 * the plaintext port; the app's routes answer over h2. The pool is back to 0 after each test.
 */

import assert from "@std/assert";
import { encodeFrame, FRAME_TYPE, readU32 } from "../http2/frame.ts";
import { H2_ERROR } from "../http2/errors.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { RequestLog } from "../rpc/request_log.ts";
import { Pool } from "../pool/mod.ts";
import { type RunningService, startService } from "../server/service.ts";
import { type Frame, RawH2Client, requestFields } from "./_h2_client.ts";
import { fixedPlan } from "./_plan.ts";
import { eventually, SMALL_CLASSES } from "./_rpc_harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TOKEN = "h2-core-token";
const AUTH: [string, string] = ["authorization", `Bearer ${TOKEN}`];
const JSON_TYPE: [string, string] = ["content-type", "application/json"];

interface Fixture {
  readonly svc: RunningService;
  readonly pool: Pool;
  readonly ca: string;
  readonly lines: Record<string, unknown>[];
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const pool = Pool.open(SMALL_CLASSES);
  const dataDir = await Deno.makeTempDir({ prefix: "h2-core-" });
  const lines: Record<string, unknown>[] = [];
  const svc = await startService(
    { port: 0, hostname: "127.0.0.1", dataDir, plaintextPort: 0, rpcTimeoutMsMax: 5000 },
    fixedPlan(SMALL_CLASSES),
    {
      pool,
      store: null,
      quiet: true,
      auth: new Authenticator([{ name: "t", scope: "admin", sha256: hashToken(TOKEN) }]),
      requestLog: new RequestLog((line) => lines.push(JSON.parse(line))),
    },
  );
  return {
    svc,
    pool,
    ca: await Deno.readTextFile(svc.caPath!),
    lines,
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

function statusOf(client: RawH2Client, frame: Frame): number {
  return Number(new Map(client.decodeHeaders(frame)).get(":status"));
}

const isHeaders = (id: number) => (f: Frame) => f.type === FRAME_TYPE.HEADERS && f.streamId === id;
const isWindow = (id: number) => (f: Frame) =>
  f.type === FRAME_TYPE.WINDOW_UPDATE && f.streamId === id;

Deno.test("h2: two Authorization fields are 400; a refused call gets no window", async () => {
  const t = await start();
  const client = await RawH2Client.connect(t.svc.port, { ca: t.ca });
  try {
    const fields = requestFields("POST", "/rpc/system.echo", [
      JSON_TYPE,
      AUTH,
      AUTH,
      ["content-length", "200000"],
    ]);
    await client.send(client.headers(1, fields, false));
    const answer = await client.waitFor(isHeaders(1));
    assert.equal(statusOf(client, answer), 400);
    await client.waitFor((f) => f.type === FRAME_TYPE.DATA && f.streamId === 1);
    assert.match(decoder.decode(client.body(1).bytes), /Authorization appears twice/);
    assert.equal(await client.waitForOrNull(isWindow(1), 300), null, "no window for a refusal");
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h2: the window opens by the declared length once the call is admitted", async () => {
  const t = await start();
  const client = await RawH2Client.connect(t.svc.port, { ca: t.ca });
  try {
    const payload = "x".repeat(30_000);
    const body = encoder.encode(JSON.stringify({ payload: btoa(payload) }));
    const fields = requestFields("POST", "/rpc/system.echo", [
      JSON_TYPE,
      AUTH,
      ["content-length", String(body.length)],
    ]);
    await client.send(client.headers(1, fields, false));
    const window = await client.waitFor(isWindow(1));
    const granted = readU32(window.payload, 0) & 0x7fffffff;
    assert.ok(granted > 0 && granted <= body.length, `granted ${granted}`);
    assert.equal(t.pool.inUseCount(), 1, "the lease was taken before the window opened");
    for (let at = 0; at < body.length; at += 16_000) {
      const end = Math.min(at + 16_000, body.length);
      await client.send(client.data(1, body.subarray(at, end), end === body.length));
    }
    const answer = await client.waitFor(isHeaders(1));
    assert.equal(statusOf(client, answer), 200);
    await eventually(() => client.body(1).ended, 5000);
    assert.equal(atob(JSON.parse(decoder.decode(client.body(1).bytes)).payload), payload);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h2: a bare RST_STREAM mid-body releases the lease and is logged canceled", async () => {
  const t = await start();
  const client = await RawH2Client.connect(t.svc.port, { ca: t.ca });
  try {
    const fields = requestFields("POST", "/rpc/system.echo", [
      JSON_TYPE,
      AUTH,
      ["content-length", "3000"],
    ]);
    await client.send(
      client.headers(1, fields, false),
      client.data(1, encoder.encode('{"p'), false),
    );
    await eventually(() => t.pool.inUseCount() === 1, 5000);
    const code = new Uint8Array(4);
    new DataView(code.buffer).setUint32(0, H2_ERROR.CANCEL);
    await client.send(encodeFrame(FRAME_TYPE.RST_STREAM, 0, 1, code));
    await eventually(() => t.pool.inUseCount() === 0, 5000);
    await eventually(() => t.lines.length > 0, 5000);
    assert.equal(t.lines.at(-1)?.code, "canceled");
    assert.equal(t.lines.at(-1)?.transport, "h2");
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h2c: prior knowledge on the plaintext port is HTTP/2; HTTP/1.1 still works there", async () => {
  const t = await start();
  const client = await RawH2Client.connect(t.svc.plaintextPort!, { plaintext: true });
  try {
    const body = encoder.encode(JSON.stringify({ payload: btoa("clear") }));
    const fields = requestFields("POST", "/rpc/system.echo", [
      JSON_TYPE,
      AUTH,
      ["content-length", String(body.length)],
    ]);
    await client.send(client.headers(1, fields, false), client.data(1, body, true));
    assert.equal(statusOf(client, await client.waitFor(isHeaders(1))), 200);
    await eventually(() => client.body(1).ended, 5000);
    assert.equal(atob(JSON.parse(decoder.decode(client.body(1).bytes)).payload), "clear");
    assert.equal(t.lines.at(-1)?.transport, "h2c");
    const health = await fetch(`http://127.0.0.1:${t.svc.plaintextPort}/healthz`);
    assert.equal(await health.text(), "ok");
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h2: the app's routes (health, metrics, dashboard) answer over HTTP/2", async () => {
  const t = await start();
  const http = Deno.createHttpClient({ caCerts: [t.ca], http1: false, http2: true });
  try {
    const base = `https://localhost:${t.svc.port}`;
    const health = await fetch(`${base}/healthz`, { client: http });
    assert.equal(await health.text(), "ok");
    assert.match(health.headers.get("alt-svc") ?? "", /^h3=":\d+"/);
    const metrics = await fetch(`${base}/metrics`, { client: http });
    assert.match(await metrics.text(), /listener_connections\{listener="tls"\} \d+/);
    const page = await fetch(`${base}/`, { client: http });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    const missing = await fetch(`${base}/nope`, { client: http });
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  } finally {
    http.close();
    await t.close();
  }
});
