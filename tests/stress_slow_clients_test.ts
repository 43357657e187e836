/**
 * Slow clients against the real service (real sockets, real pool): TCP connections that trickle
 * a request body a byte at a time are cut at the call deadline and their leases released;
 * HTTP/3 streams that send HEADERS and part of a body and then stall are reset after the stall
 * timeout and their leases released; 200 idle or header-trickling TCP connections do not stop a
 * new client from being served, over plaintext HTTP/1.1 and over TLS; and the plaintext port
 * (our own HTTP/1.1 server, `http1/`) closes idle, header-trickling and body-stalled connections
 * at its timeouts, releasing the stalled bodies' leases.
 */

import assert from "@std/assert";
import { encodeDataFrame, encodeHeadersFrame } from "../http3/frame.ts";
import { encodeFieldSection } from "../http3/qpack.ts";
import { eventually as eventuallyH3, h3EchoPostHead, startH3Service } from "./_h3_service.ts";
import { postHead as rawPostHead, readRawResponse } from "./_raw_http.ts";
import { eventually, SMALL_CLASSES, startTestService } from "./_rpc_harness.ts";
import { Pool } from "../pool/mod.ts";
import { startService } from "../server/service.ts";
import { fixedPlan } from "./_plan.ts";
import { sleep } from "./_stress.ts";

const encoder = new TextEncoder();
const ECHO_JSON = JSON.stringify({ payload: btoa("hello") });

/** POSTs a small JSON echo; returns the status (the body is read). */
async function echoStatus(url: string, client?: Deno.HttpClient): Promise<number> {
  const response = await fetch(`${url}/rpc/system.echo`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: ECHO_JSON,
    client,
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * One slowloris body: a head declaring `declaredBytes`, then one body byte every `intervalMs`
 * (at most `bytesMax`) until the server answers. Returns the response's status.
 */
async function trickleBody(port: number, declaredBytes: number, intervalMs: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const head = rawPostHead("/rpc/system.echo", {
      "Content-Type": "application/json",
      "Content-Length": String(declaredBytes),
    });
    await conn.write(encoder.encode(head));
    let answered = false;
    const response = readRawResponse(conn).finally(() => answered = true);
    for (let i = 0; i < declaredBytes - 1 && !answered; i++) {
      await sleep(intervalMs);
      // The server may have answered and closed while this byte was on its way.
      if (!answered) await conn.write(encoder.encode(" ")).catch(() => {});
    }
    return (await response).status;
  } finally {
    conn.close();
  }
}

Deno.test("slow clients: TCP bodies trickled a byte at a time are cut at the deadline", async () => {
  const t = await startTestService({ rpcTimeoutMsMax: 2000 });
  try {
    // 8 bodies of 3,000 bytes hold all eight 4 KiB blocks while they trickle.
    const slow = Array.from({ length: 8 }, () => trickleBody(t.svc.plaintextPort!, 3000, 100));
    await eventually(() => t.pool.inUseCount() === 8, 5000);
    const health = await fetch(`${t.plainUrl}/healthz`);
    assert.equal(await health.text(), "ok", "a new client is served while the leases are held");
    const statuses = await Promise.all(slow);
    assert.deepEqual(statuses, Array(8).fill(504), "every trickled call ends deadline_exceeded");
    await eventually(() => t.pool.inUseCount() === 0, 5000);
    assert.equal(await echoStatus(t.plainUrl), 200, "the released blocks serve calls again");
  } finally {
    await t.close();
  }
});

/** Opens `count` TCP connections to `port`; each sends `prefix` (possibly nothing). */
async function openConnections(
  port: number,
  count: number,
  prefix: string,
  tls: { caPem: string } | null = null,
): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    const conn = tls === null
      ? await Deno.connect({ hostname: "127.0.0.1", port })
      : await Deno.connectTls({
        hostname: "localhost",
        port,
        caCerts: [tls.caPem],
        alpnProtocols: ["http/1.1"],
      });
    if (tls !== null) await (conn as Deno.TlsConn).handshake();
    conns.push(conn);
    if (prefix !== "") await conn.write(encoder.encode(prefix));
  }
  return conns;
}

Deno.test("slow clients: 200 idle and header-trickling connections do not block new ones", async () => {
  const t = await startTestService();
  const caPem = await Deno.readTextFile(t.svc.caPath!);
  const tlsClient = Deno.createHttpClient({ caCerts: [caPem] });
  const conns: Deno.Conn[] = [];
  try {
    const plainPort = t.svc.plaintextPort!;
    conns.push(...await openConnections(plainPort, 50, ""));
    conns.push(...await openConnections(t.svc.port, 50, ""));
    const trickling = await openConnections(plainPort, 100, "POST /rpc/system.echo HTTP/1.1\r\n");
    conns.push(...trickling);
    for (let round = 0; round < 10; round++) {
      // Every header-trickling connection sends one more byte of an endless header line.
      for (const conn of trickling) await conn.write(encoder.encode(round === 0 ? "X-A: " : "a"));
      assert.equal(await echoStatus(t.plainUrl), 200, `plaintext call in round ${round}`);
      assert.equal(await echoStatus(t.tlsUrl, tlsClient), 200, `TLS call in round ${round}`);
      await sleep(100);
    }
    assert.equal(t.pool.inUseCount(), 0, "header-stage connections hold no lease");
  } finally {
    for (const conn of conns) conn.close();
    tlsClient.close();
    await t.close();
  }
});

/** Opens a request stream, sends HEADERS and `sentBytes` of a `declaredBytes` body, no FIN. */
async function stalledStream(conn: Deno.QuicConn, port: number, declaredBytes: number) {
  const stream = await conn.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  const head = encodeHeadersFrame(encodeFieldSection(h3EchoPostHead(port, declaredBytes)));
  await writer.write(new Uint8Array([...head, ...encodeDataFrame(new Uint8Array(100))]));
  return { stream, writer };
}

Deno.test("slow clients: stalled HTTP/3 streams time out, leases released, others served", async () => {
  const t = await startH3Service({ stallTimeoutMs: 2000 });
  const clients = await Promise.all([t.connect(), t.connect(), t.connect()]);
  try {
    const stalled = [];
    for (const client of clients) {
      for (let i = 0; i < 2; i++) {
        stalled.push(await stalledStream(client.connection, t.port, 3000));
      }
    }
    await eventuallyH3(() => t.pool.inUseCount() === 6);
    const fresh = await t.connect();
    try {
      const response = await fresh.fetch(`${t.origin}/rpc/system.echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: ECHO_JSON,
      });
      assert.equal(response.status, 200, "a new HTTP/3 client is served meanwhile");
      await response.arrayBuffer();
    } finally {
      await fresh.close();
    }
    await eventuallyH3(() => t.pool.inUseCount() === 0, 10_000);
    for (const { stream, writer } of stalled) {
      await stream.readable.cancel().catch(() => {});
      await writer.close().catch(() => {});
    }
  } finally {
    for (const client of clients) await client.close();
    await t.close();
  }
});

/** Whether the server closes `conn` (end of stream or reset), after any answer it sends. */
async function closedByServer(conn: Deno.Conn): Promise<{ closed: true; text: string }> {
  const buf = new Uint8Array(4096);
  let text = "";
  // Bounded: the server sends at most one short answer before closing.
  for (let reads = 0; reads < 64; reads++) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return { closed: true, text };
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  throw new Error(`still open after ${JSON.stringify(text)}`);
}

Deno.test("slow clients: both TCP ports close idle, header-trickling, stalled-body and silent TLS connections", async () => {
  const pool = Pool.open(SMALL_CLASSES);
  const dataDir = await Deno.makeTempDir({ prefix: "rpc-slow-" });
  const svc = await startService(
    { port: 0, hostname: "127.0.0.1", dataDir, plaintextPort: 0, rpcTimeoutMsMax: 30_000 },
    fixedPlan(SMALL_CLASSES),
    {
      pool,
      store: null,
      quiet: true,
      h1Limits: { idleTimeoutMs: 500, headTimeoutMs: 500, writeTimeoutMs: 500 },
      h2Limits: { idleTimeoutMs: 500 },
      listenerLimits: { handshakeTimeoutMs: 500 },
      coreLimits: { bodyStallTimeoutMs: 500 },
    },
  );
  const conns: Deno.Conn[] = [];
  try {
    for (const tls of [null, { caPem: await Deno.readTextFile(svc.caPath!) }]) {
      // The same rules on the plaintext port and on the TLS port (HTTP/1.1 by ALPN).
      conns.push(
        ...await slowConnectionsClosed(tls === null ? svc.plaintextPort! : svc.port, {
          pool,
          tls,
        }),
      );
    }
    // A TCP connection to the TLS port that never starts its handshake is given up at the
    // handshake timeout (counted). Deno 2.9 keeps such a socket open until its peer closes it
    // (docs/reliability.md, "Slow clients"), so the client side sees no close here.
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
    conns.push(silent);
    let failures = "";
    for (let i = 0; i < 50 && !/[1-9]/.test(failures); i++) {
      await sleep(100);
      const metrics = await (await fetch(`http://127.0.0.1:${svc.plaintextPort}/metrics`)).text();
      failures = /listener_handshake_failures_total\{listener="tls"\} (\d+)/.exec(metrics)?.[1] ??
        "";
    }
    assert.match(failures, /[1-9]/, "the silent handshake was given up");
    // An HTTP/2 connection with no stream is closed at its idle timeout.
    const h2 = await Deno.connectTls({
      hostname: "localhost",
      port: svc.port,
      caCerts: [await Deno.readTextFile(svc.caPath!)],
      alpnProtocols: ["h2"],
    });
    conns.push(h2);
    await h2.write(encoder.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0"));
    assert.equal((await closedByServer(h2)).closed, true);
  } finally {
    for (const conn of conns) conn.close();
    await svc.shutdown();
    assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

/**
 * Opens idle, header-trickling and body-stalled HTTP/1.1 connections to `port` and checks the
 * server closes each at its timeout (408 for a head or body past its time); returns them.
 */
async function slowConnectionsClosed(
  port: number,
  options: { pool: Pool; tls: { caPem: string } | null },
): Promise<Deno.Conn[]> {
  const { pool, tls } = options;
  const conns: Deno.Conn[] = [];
  {
    const idle = await openConnections(port, 50, "", tls);
    const heads = await openConnections(port, 50, "POST /rpc/system.echo HTTP/1.1\r\nX-A: ", tls);
    const bodies = await openConnections(
      port,
      4,
      rawPostHead("/rpc/system.echo", {
        "Content-Type": "application/json",
        "Content-Length": "3000",
      }) + '{"payload":"',
      tls,
    );
    conns.push(...idle, ...heads, ...bodies);
    await eventually(() => pool.inUseCount() === 4, 5000);
    // The header-stage connections keep sending bytes: progress does not extend a head's time.
    const trickle = (async () => {
      for (let round = 0; round < 20; round++) {
        await sleep(100);
        for (const conn of heads) await conn.write(encoder.encode("a")).catch(() => {});
      }
    })();
    const base = tls === null ? `http://127.0.0.1:${port}` : `https://localhost:${port}`;
    const client = tls === null ? undefined : Deno.createHttpClient({ caCerts: [tls.caPem] });
    assert.equal(await echoStatus(base, client), 200, "a new client is served");
    client?.close();
    const idleEnds = await Promise.all(idle.map(closedByServer));
    assert.ok(idleEnds.every((end) => end.text === ""), "idle connections closed without a byte");
    for (const end of await Promise.all([...heads, ...bodies].map(closedByServer))) {
      assert.match(end.text, /^HTTP\/1\.1 408 /, "a head or body past its time gets 408");
    }
    await trickle;
    await eventually(() => pool.inUseCount() === 0, 5000);
  }
  return conns;
}
