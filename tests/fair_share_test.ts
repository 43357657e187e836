/**
 * Fair under attack (issue "fair under attack"), through the real service: one token cannot hold
 * more than its share of a class (429 with Retry-After, before any block), while another token
 * and the admin token are still served; one HTTP/3 connection cannot hold more than its share;
 * and a flood of idle plaintext connections at the connection cap cannot lock a client out (idle
 * connections make room). The pool is back to 0 after each test.
 */

import assert from "@std/assert";
import { Pool } from "../pool/mod.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { type RunningService, startService } from "../server/service.ts";
import { h3Client } from "./_contract_clients.ts";
import { fixedPlan } from "./_plan.ts";
import { eventually } from "./_rpc_harness.ts";

const encoder = new TextEncoder();
const CLASSES = [
  { blockSizeBytes: 4096, blockCount: 16 },
  { blockSizeBytes: 65536, blockCount: 4 },
];
const TOKENS = { admin: "fair-admin", a: "fair-reader-a", b: "fair-reader-b" } as const;

async function start(
  options: { listenerLimits?: { connectionCountMax: number } } = {},
): Promise<{ svc: RunningService; pool: Pool; close(): Promise<void> }> {
  const pool = Pool.open(CLASSES);
  const dataDir = await Deno.makeTempDir({ prefix: "fair-" });
  const auth = new Authenticator([
    { name: "admin", scope: "admin", sha256: hashToken(TOKENS.admin) },
    { name: "a", scope: "read", sha256: hashToken(TOKENS.a) },
    { name: "b", scope: "read", sha256: hashToken(TOKENS.b) },
  ]);
  const svc = await startService(
    { port: 0, hostname: "127.0.0.1", dataDir, plaintextPort: 0, rpcTimeoutMsMax: 30_000 },
    fixedPlan(CLASSES),
    { pool, store: null, quiet: true, auth, listenerLimits: options.listenerLimits },
  );
  return {
    svc,
    pool,
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Opens a plaintext connection and sends a head declaring a body it never sends. */
async function stalledUpload(port: number, token: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    "POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
      `Authorization: Bearer ${token}\r\nContent-Length: 100\r\n\r\n`,
  ));
  return conn;
}

async function echo(port: number, token: string): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}/rpc/system.echo`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ payload: btoa("ok") }),
  });
}

Deno.test("fair share: one token holds at most half a class; other tokens are still served", async () => {
  const t = await start();
  const conns: Deno.Conn[] = [];
  try {
    const port = t.svc.plaintextPort!;
    // Token a takes its share of the 4 KiB class (8 of 16) with uploads that never finish.
    for (let i = 0; i < 8; i++) conns.push(await stalledUpload(port, TOKENS.a));
    await eventually(() => t.pool.inUseCount() === 8, 5000);
    const over = await echo(port, TOKENS.a);
    assert.equal(over.status, 429);
    assert.equal(over.headers.get("retry-after"), "1");
    const error = (await over.json()).error;
    assert.equal(error.code, "resource_exhausted");
    assert.match(error.message, /token "a" holds its share of 4096-byte blocks \(8\)/);
    assert.equal(t.pool.inUseCount(), 8, "refused before any block was taken");
    const other = await echo(port, TOKENS.b);
    assert.equal(other.status, 200, "another token is served");
    await other.arrayBuffer();
    const admin = await echo(port, TOKENS.admin);
    assert.equal(admin.status, 200, "the admin token is the operator's");
    await admin.arrayBuffer();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /rpc_rejected_total\{reason="share_principal"\} 1/);
    assert.match(metrics, /pool_share_blocks_max\{scope="principal",class_bytes="4096"\} 8/);
  } finally {
    for (const conn of conns) conn.close();
    await t.close();
  }
});

Deno.test("fair share: one HTTP/3 connection holds at most a quarter of a class", async () => {
  const t = await start();
  const ca = await Deno.readTextFile(t.svc.caPath!);
  const client = await h3Client({ port: t.svc.port, caCerts: [ca] });
  try {
    const fields: [string, string][] = [
      ["content-type", "application/json"],
      ["authorization", `Bearer ${TOKENS.admin}`],
      ["content-length", "100"],
    ];
    const held = [];
    for (let i = 0; i < 4; i++) {
      held.push(await client.open({ method: "POST", path: "/rpc/system.echo", fields }));
    }
    await eventually(() => t.pool.inUseCount() === 4, 5000);
    const over = await client.open({ method: "POST", path: "/rpc/system.echo", fields });
    const response = await over.response;
    assert.equal(response.status, 429);
    assert.equal(response.fields.get("retry-after"), "1");
    assert.equal(t.pool.inUseCount(), 4);
    for (const exchange of held) exchange.abort();
    over.abort();
    await eventually(() => t.pool.inUseCount() === 0, 5000);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("fair share: idle connections at the cap make room; a client gets >= 95% of 1,000 calls", async () => {
  const t = await start({ listenerLimits: { connectionCountMax: 200 } });
  const idle: Deno.Conn[] = [];
  try {
    const port = t.svc.plaintextPort!;
    // An attacker fills the cap with connections that send nothing, and keeps reconnecting.
    for (let i = 0; i < 200; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    let stop = false;
    const refill = (async () => {
      for (let round = 0; round < 10_000 && !stop; round++) {
        idle.push(
          await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null) as Deno.Conn,
        );
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    let ok = 0;
    for (let i = 0; i < 1000; i++) {
      const response = await echo(port, TOKENS.b).catch(() => null);
      if (response?.status === 200) ok++;
      await response?.arrayBuffer().catch(() => {});
    }
    stop = true;
    await refill;
    assert.ok(ok >= 950, `${ok} of 1,000 calls answered 200`);
  } finally {
    for (const conn of idle) {
      try {
        conn?.close();
      } catch {
        // Evicted by the server.
      }
    }
    await t.close();
  }
});
