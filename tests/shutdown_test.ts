/**
 * Graceful shutdown of the real service process (`main.ts`): calls in flight when SIGTERM arrives
 * (uploads whose bodies are only half sent, over plaintext HTTP/1.1 and over TLS) still complete
 * with 200 after the signal, a new connection after the signal is refused, and the process exits
 * 0 having released every lease. A call that outlives `--shutdown-timeout-ms` makes the process
 * give up at the deadline and exit 1.
 */

import assert from "@std/assert";
import { readRawResponse } from "./_raw_http.ts";
import { type ServiceProcess, startServiceProcess } from "./_service_process.ts";

const encoder = new TextEncoder();

/** A system.echo request, split into a head + first half, and the second half. */
function slowEcho(token: string, host: string): { first: Uint8Array; rest: Uint8Array } {
  const payload = btoa(String.fromCharCode(...new Uint8Array(3000).map((_, i) => i)));
  const body = encoder.encode(JSON.stringify({ payload }));
  const head = encoder.encode(
    [
      "POST /rpc/system.echo HTTP/1.1",
      `Host: ${host}`,
      "Connection: close",
      "Content-Type: application/json",
      `Authorization: Bearer ${token}`,
      `Content-Length: ${body.length}`,
    ].join("\r\n") + "\r\n\r\n",
  );
  const half = body.length >> 1;
  const first = new Uint8Array(head.length + half);
  first.set(head);
  first.set(body.subarray(0, half), head.length);
  return { first, rest: body.subarray(half) };
}

/** Waits (polling, at most 10 s) until the process logged a line with `msg`. */
async function logged(svc: ServiceProcess, msg: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!svc.lines.some((line) => line.msg === msg)) {
    if (Date.now() > until) throw new Error(`no "${msg}" line in 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The port of a URL. */
function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** An h2 upload (fetch over TLS, HTTP/2 only) whose body's second half waits for `release`. */
function h2SlowEcho(url: string, token: string, caCerts: string[]) {
  const { first, rest } = slowEcho(token, "localhost");
  const body = first.subarray(first.indexOf(0x7b)); // From the JSON's "{": the body only.
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(body);
      await gate;
      controller.enqueue(rest);
      controller.close();
    },
  });
  const client = Deno.createHttpClient({ caCerts, http1: false, http2: true });
  const response = fetch(`${url}/rpc/system.echo`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
      "content-length": String(body.length + rest.length),
    },
    body: stream,
    client,
  }).then(async (r) => ({ status: r.status, text: await r.text() }))
    .finally(() => client.close());
  return { release, response };
}

/** The sum of pool_blocks_in_use over the classes, from /metrics. */
async function leasesInUse(plainUrl: string): Promise<number> {
  const text = await (await fetch(`${plainUrl}/metrics`)).text();
  return [...text.matchAll(/^pool_blocks_in_use\{[^}]*\} (\d+)$/gm)]
    .reduce((n, m) => n + Number(m[1]), 0);
}

Deno.test("shutdown: in-flight calls finish with 200 after SIGTERM; new calls get 503; exit 0", async () => {
  const svc = await startServiceProcess();
  const conns: Deno.Conn[] = [];
  try {
    const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
    const plainPort = portOf(svc.plainUrl);
    const tlsPort = portOf(svc.ready.https);
    const caCerts = [await Deno.readTextFile(svc.ready.caPath!)];
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: plainPort }));
    conns.push(
      await Deno.connectTls({
        hostname: "localhost",
        port: tlsPort,
        caCerts,
        alpnProtocols: ["http/1.1"],
      }),
    );
    const parts = conns.map(() => slowEcho(token, "localhost"));
    for (let i = 0; i < conns.length; i++) await conns[i].write(parts[i].first);
    const h2 = h2SlowEcho(`https://localhost:${tlsPort}`, token, caCerts);
    // Wait until the server holds a lease for each call: the calls are really in flight (in
    // dispatch, reading their bodies) when the signal lands.
    const until = Date.now() + 10_000;
    for (let n = await leasesInUse(svc.plainUrl); n < 3; n = await leasesInUse(svc.plainUrl)) {
      if (Date.now() > until) throw new Error(`only ${n} leases held`);
      await new Promise((r) => setTimeout(r, 10));
    }
    svc.child.kill("SIGTERM");
    await logged(svc, "stopping");
    // A second SIGTERM (a process manager and a terminal often deliver two) must not cut the
    // drain short.
    svc.child.kill("SIGTERM");
    // While the calls drain, a new call is refused with 503 unavailable, not served.
    const late = await fetch(`${svc.plainUrl}/rpc/system.config`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: "{}",
    });
    assert.equal(late.status, 503);
    assert.equal(late.headers.get("retry-after"), "1");
    assert.equal((await late.json()).error.code, "unavailable");
    for (let i = 0; i < conns.length; i++) await conns[i].write(parts[i].rest);
    h2.release();
    const responses = await Promise.all(conns.map((conn) => readRawResponse(conn)));
    for (const response of responses) {
      assert.equal(response.status, 200, response.body);
      assert.equal(JSON.parse(response.body).payload.length, 4000);
    }
    const h2Response = await h2.response;
    assert.equal(h2Response.status, 200, h2Response.text);
    assert.equal(JSON.parse(h2Response.text).payload.length, 4000);
    const result = await svc.stop(null);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(svc.lines.some((line) => line.msg === "stopped"));
    await assert.rejects(
      () => Deno.connect({ hostname: "127.0.0.1", port: plainPort }),
      Deno.errors.ConnectionRefused,
    );
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // Already closed by the server's Connection: close.
      }
    }
    await svc.stop("SIGKILL");
  }
});

Deno.test("shutdown: a call that outlives --shutdown-timeout-ms ends the process at the deadline, exit 1", async () => {
  const svc = await startServiceProcess(["--shutdown-timeout-ms", "300"]);
  let conn: Deno.Conn | null = null;
  try {
    const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
    conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(svc.plainUrl) });
    // Half a body, and the rest never: the call cannot finish before the deadline.
    await conn.write(slowEcho(token, "127.0.0.1").first);
    await new Promise((r) => setTimeout(r, 200));
    const result = await svc.stop("SIGTERM");
    assert.equal(result.code, 1, result.stderr);
    const late = svc.lines.find((line) => line.msg === "stopped late");
    assert.ok(late !== undefined, JSON.stringify(svc.lines));
    assert.equal(late?.timeoutMs, 300);
  } finally {
    conn?.close();
  }
});

Deno.test("shutdown: SIGTERM during a trickled batch: the batch ends at its deadline (504), exit 0", async () => {
  const svc = await startServiceProcess([
    "--rpc-timeout-ms-max",
    "1500",
    "--shutdown-timeout-ms",
    "10000",
  ]);
  let conn: Deno.Conn | null = null;
  try {
    const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
    conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(svc.plainUrl) });
    // A batch that declares 2,000 bytes and sends 8: it holds a block until its deadline.
    await conn.write(encoder.encode(
      [
        "POST /rpc HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        "Content-Type: application/capnp",
        `Authorization: Bearer ${token}`,
        "Content-Length: 2000",
      ].join("\r\n") + "\r\n\r\n" + "\0".repeat(8),
    ));
    await new Promise((r) => setTimeout(r, 200));
    svc.child.kill("SIGTERM");
    const response = await readRawResponse(conn);
    // A batch is Cap'n Proto: its error is a framed RpcResponse (the log line names the code).
    assert.equal(response.status, 504);
    const result = await svc.stop(null);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(svc.lines.some((line) => line.msg === "stopped"), JSON.stringify(svc.lines));
    const batch = svc.lines.find((line) => line.msg === "rpc" && line.method === "batch");
    assert.equal(batch?.code, "deadline_exceeded");
  } finally {
    conn?.close();
    await svc.stop("SIGKILL");
  }
});
