/**
 * HTTP/3 through the whole service with our own client: real QUIC sockets, the real pool, the
 * Hono app. Covers many sequential and concurrent requests, malformed requests (stream errors),
 * critical-stream rules (connection errors), a stalled body, a client lost mid-body, GOAWAY.
 */

import assert from "@std/assert";
import { H3_ERROR } from "../http3/errors.ts";
import { encodeDataFrame, encodeHeadersFrame, encodeSettingsFrame } from "../http3/frame.ts";
import { encodeFieldSection } from "../http3/qpack.ts";
import type { H3Client } from "../http3/client.ts";
import { eventually, h3EchoPostHead, type H3TestService, startH3Service } from "./_h3_service.ts";

const JSON_HEADERS = { "content-type": "application/json" };

function echoBody(text: string): string {
  return JSON.stringify({ payload: btoa(text) });
}

/** Opens a raw request stream, writes `bytes`, optionally ends it, and returns it. */
async function rawStream(conn: Deno.QuicConn, bytes: Uint8Array, fin: boolean) {
  const stream = await conn.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  await writer.write(bytes);
  if (fin) await writer.close();
  return { stream, writer };
}

/** Reads a stream to its end; returns the byte count. */
async function drain(readable: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0;
  try {
    for await (const chunk of readable) total += chunk.length;
  } catch {
    // A stream ended by an error counts what arrived.
  }
  return total;
}

function headers(lines: [string, string][]): Uint8Array {
  return encodeHeadersFrame(encodeFieldSection(lines));
}

/** POSTs a JSON system.echo of `text` over the client's connection. */
function postEcho(client: H3Client, origin: string, text: string): Promise<Response> {
  return client.fetch(`${origin}/rpc/system.echo`, {
    method: "POST",
    headers: JSON_HEADERS,
    body: echoBody(text),
  });
}

/**
 * Opens a raw request stream for a JSON echo of `text` (its full Content-Length) and sends only
 * the first `sentBytes` of the body, leaving the stream open.
 */
function partialEcho(client: H3Client, port: number, text: string, sentBytes: number) {
  const body = new TextEncoder().encode(echoBody(text));
  const bytes = new Uint8Array([
    ...headers(h3EchoPostHead(port, body.length)),
    ...encodeDataFrame(body.subarray(0, sentBytes)),
  ]);
  return rawStream(client.connection, bytes, false);
}

/** A bare QUIC connection (ALPN h3) to the service, without an HTTP/3 client on top. */
async function connectRawQuic(t: H3TestService): Promise<Deno.QuicConn> {
  return await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: t.port,
    serverName: "localhost",
    caCerts: [t.caPem],
    alpnProtocols: ["h3"],
  });
}

Deno.test("h3: healthz, JSON echo, 300 sequential and 400 concurrent requests", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const health = await client.fetch(`${t.origin}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");
    for (let i = 0; i < 300; i++) {
      const response = await postEcho(client, t.origin, `seq ${i}`);
      assert.equal(response.status, 200);
      assert.equal(atob((await response.json()).payload), `seq ${i}`);
    }
    const results = await Promise.all(Array.from({ length: 400 }, async (_, i) => {
      const response = await postEcho(client, t.origin, `par ${i}`);
      return [response.status, atob((await response.json()).payload)];
    }));
    results.forEach(([status, text], i) => assert.deepEqual([status, text], [200, `par ${i}`]));
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: a 60 KiB body streams through DATA frames into a lease and back", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const text = "x".repeat(45_000);
    const response = await postEcho(client, t.origin, text);
    assert.equal(response.status, 200);
    assert.equal(atob((await response.json()).payload), text);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: malformed requests fail their stream only (RFC 9114 §4.1.2)", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const authority: [string, string] = [":authority", `localhost:${t.port}`];
    const cases: [string, string][][] = [
      [[":method", "GET"], [":scheme", "https"], authority], // no :path
      [[":method", "GET"], [":scheme", "https"], authority, [":path", "/healthz"], ["X-Up", "1"]],
      [[":method", "GET"], [":scheme", "https"], authority, [":path", "/"], ["connection", "x"]],
      [[":method", "GET"], ["accept", "*/*"], [":scheme", "https"], authority, [":path", "/"]],
      [[":method", "GET"], [":scheme", "https"], authority, [":path", "/"], [":status", "200"]],
    ];
    for (const lines of cases) {
      const { stream } = await rawStream(client.connection, headers(lines), true);
      assert.equal(await drain(stream.readable), 0, `no response for ${JSON.stringify(lines)}`);
    }
    // The connection survived every stream error.
    const response = await client.fetch(`${t.origin}/healthz`);
    assert.equal(await response.text(), "ok");
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: a second control stream closes the connection (H3_STREAM_CREATION_ERROR)", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const extra = (await client.connection.createUnidirectionalStream()).getWriter();
    const bytes = encodeSettingsFrame({});
    await extra.write(new Uint8Array([0x00, ...bytes]));
    const info = await client.connection.closed;
    assert.equal(info.closeCode, H3_ERROR.H3_STREAM_CREATION_ERROR);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: a control stream that does not start with SETTINGS is H3_MISSING_SETTINGS", async () => {
  const t = await startH3Service();
  const conn = await connectRawQuic(t);
  try {
    const control = (await conn.createUnidirectionalStream()).getWriter();
    // Stream type 0x00, then a GOAWAY frame (type 0x07, length 1, id 0) before any SETTINGS.
    await control.write(new Uint8Array([0x00, 0x07, 0x01, 0x00]));
    const info = await conn.closed;
    assert.equal(info.closeCode, H3_ERROR.H3_MISSING_SETTINGS);
  } finally {
    conn.close();
    await t.close();
  }
});

Deno.test("h3: closing the control stream is H3_CLOSED_CRITICAL_STREAM", async () => {
  const t = await startH3Service();
  const conn = await connectRawQuic(t);
  try {
    const control = (await conn.createUnidirectionalStream()).getWriter();
    await control.write(new Uint8Array([0x00, ...encodeSettingsFrame({})]));
    await control.close();
    const info = await conn.closed;
    assert.equal(info.closeCode, H3_ERROR.H3_CLOSED_CRITICAL_STREAM);
  } finally {
    conn.close();
    await t.close();
  }
});

Deno.test("h3: TCP responses advertise h3 on the same port number, and it answers there", async () => {
  const t = await startH3Service();
  const http = Deno.createHttpClient({ caCerts: [t.caPem] });
  const client = await t.connect();
  try {
    const tcp = await fetch(`${t.origin}/healthz`, { client: http });
    await tcp.body?.cancel();
    const altSvc = tcp.headers.get("alt-svc") ?? "";
    const port = Number(/h3=":(\d+)"/.exec(altSvc)?.[1]);
    assert.equal(port, t.port, altSvc);
    const udp = await client.fetch(`https://localhost:${port}/healthz`);
    assert.equal(await udp.text(), "ok");
  } finally {
    http.close();
    await client.close();
    await t.close();
  }
});

Deno.test("h3: a stalled request body times out and its lease is released", async () => {
  const t = await startH3Service({ stallTimeoutMs: 3000 });
  const client = await t.connect();
  try {
    const { stream, writer } = await partialEcho(client, t.port, "y".repeat(2000), 100);
    await eventually(() => t.pool.inUseCount() === 1);
    // No more bytes: the server gives up after the stall timeout and releases the lease.
    await eventually(() => t.pool.inUseCount() === 0);
    await drain(stream.readable);
    await writer.close().catch(() => {});
    const response = await client.fetch(`${t.origin}/healthz`);
    assert.equal(await response.text(), "ok");
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: a client that disappears mid-body leaves the pool at 0 in use", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    await partialEcho(client, t.port, "z".repeat(3000), 500);
    await eventually(() => t.pool.inUseCount() === 1);
    client.connection.close({ closeCode: H3_ERROR.H3_REQUEST_CANCELLED, reason: "gone" });
    await eventually(() => t.pool.inUseCount() === 0);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3: shutdown sends GOAWAY with the next unserved stream ID, then drains", async () => {
  const t = await startH3Service({ stallTimeoutMs: 3000 });
  const client = await t.connect();
  try {
    for (let i = 0; i < 3; i++) {
      const response = await client.fetch(`${t.origin}/healthz`);
      assert.equal(await response.text(), "ok");
    }
    // Stream 12 stays in flight (a body that never completes) while the server shuts down, so
    // the connection is still open when GOAWAY goes out and the drain has something to wait for.
    const { stream } = await partialEcho(client, t.port, "w".repeat(1000), 10);
    await eventually(() => t.pool.inUseCount() === 1);
    const closing = t.close();
    // Streams 0, 4, 8 and 12 were accepted: requests on 16 and later are refused.
    assert.equal(await client.goaway, 16);
    await closing;
    await drain(stream.readable);
  } finally {
    await client.close();
  }
});
