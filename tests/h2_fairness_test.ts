/**
 * Fair under attack over HTTP/2 (issue "fair under attack"): 12 connections with one read token
 * open 200 streams each that send only HEADERS declaring a 100-byte body and never the body.
 * Each connection gets at most 100 streams at once (SETTINGS_MAX_CONCURRENT_STREAMS; the rest are
 * refused), the token at most half of the 4 KiB class (429 for the rest), and every stalled body
 * loses its block at the stall timeout. Meanwhile a well-behaved client with its own token gets
 * at least 95% of 1,000 calls answered 200. The pool is back to 0 at the end.
 */

import assert from "@std/assert";
import { Pool } from "../pool/mod.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { bootPlan } from "../server/boot.ts";
import { startService } from "../server/service.ts";
import { RawH2Client, requestFields } from "./_h2_client.ts";
import { eventually } from "./_rpc_harness.ts";

Deno.test("h2 fairness: 12 x 200 stalled streams of one token leave room for another client", async () => {
  const plan = bootPlan({ poolBytes: 64 << 20, profile: "rpc" });
  const pool = Pool.open(plan.classes);
  const dataDir = await Deno.makeTempDir({ prefix: "h2-fair-" });
  const svc = await startService(
    { port: 0, hostname: "127.0.0.1", dataDir, rpcTimeoutMsMax: 30_000 },
    plan,
    {
      pool,
      store: null,
      quiet: true,
      auth: new Authenticator([
        { name: "attacker", scope: "read", sha256: hashToken("attacker-token") },
        { name: "good", scope: "read", sha256: hashToken("good-token") },
      ]),
      coreLimits: { bodyStallTimeoutMs: 3000 },
    },
  );
  const ca = await Deno.readTextFile(svc.caPath!);
  const attackers: RawH2Client[] = [];
  const http = Deno.createHttpClient({ caCerts: [ca], http1: false, http2: true });
  try {
    const fields = requestFields("POST", "/rpc/system.echo", [
      ["content-type", "application/json"],
      ["authorization", "Bearer attacker-token"],
      ["content-length", "100"],
    ]);
    for (let c = 0; c < 12; c++) {
      const client = await RawH2Client.connect(svc.port, { ca });
      attackers.push(client);
      const frames = [];
      for (let s = 0; s < 200; s++) frames.push(client.headers(1 + 2 * s, fields, false));
      await client.send(...frames);
    }
    const small = pool.stats().classes[0];
    await eventually(() => pool.stats().classes[0].blocksInUse > 0, 5000);
    const held = pool.stats().classes[0].blocksInUse;
    assert.ok(
      held <= Math.floor(small.blocksTotal / 2),
      `the token holds ${held} blocks at most half`,
    );
    let ok = 0;
    for (let i = 0; i < 1000; i++) {
      const response = await fetch(`https://localhost:${svc.port}/rpc/system.echo`, {
        method: "POST",
        client: http,
        headers: { "content-type": "application/json", authorization: "Bearer good-token" },
        body: JSON.stringify({ payload: btoa(`call ${i}`) }),
      }).catch(() => null);
      if (response?.status === 200) ok++;
      await response?.arrayBuffer().catch(() => {});
    }
    assert.ok(ok >= 950, `${ok} of 1,000 calls answered 200`);
    // The stalled bodies lose their blocks at the stall timeout.
    await eventually(() => pool.inUseCount() === 0, 15_000);
  } finally {
    http.close();
    for (const client of attackers) await client.close().catch(() => {});
    await svc.shutdown();
    assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
