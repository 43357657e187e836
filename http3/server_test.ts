import assert from "@std/assert";
import { Clock } from "../clock/mod.ts";
import { ensureDevCertificates } from "../server/dev_certs.ts";
import { H3Client } from "./client.ts";
import { encodeDataFrame, encodeHeadersFrame } from "./frame.ts";
import { encodeFieldSection, encodeFieldSectionPrefix } from "./qpack.ts";
import { encodeInsertWithLiteralName, encodeSetCapacity } from "./qpack_dynamic.ts";
import { type H3Limits, type H3Server, serveH3 } from "./server.ts";

interface Fixture {
  server: H3Server;
  port: number;
  connect(): Promise<H3Client>;
  close(): Promise<void>;
}

async function start(
  fetch: (request: Request) => Response | Promise<Response>,
  limits: Partial<H3Limits> = {},
): Promise<Fixture> {
  const dataDir = await Deno.makeTempDir({ prefix: "h3-unit-" });
  const certs = await ensureDevCertificates(dataDir);
  const [cert, key, ca] = await Promise.all(
    [certs.certPath, certs.keyPath, certs.caPath].map((path) => Deno.readTextFile(path)),
  );
  const clock = new Clock();
  const server = serveH3({ port: 0, hostname: "127.0.0.1", cert, key, fetch, limits, clock });
  const port = server.addr.port;
  return {
    server,
    port,
    connect: () =>
      H3Client.connect({ hostname: "127.0.0.1", port, caCerts: [ca], serverName: "localhost" }),
    async close() {
      await server.shutdown();
      clock.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

function describe(request: Request, body: string) {
  return Response.json({
    method: request.method,
    url: request.url,
    dyn: request.headers.get("x-dyn"),
    body,
  });
}

Deno.test("serveH3 hands method, URL, headers and body to the app", async () => {
  const f = await start(async (request) => describe(request, await request.text()));
  const client = await f.connect();
  try {
    const response = await client.fetch(`https://localhost:${f.port}/a/b?c=d`, {
      method: "PUT",
      headers: { "x-dyn": "plain" },
      body: "payload",
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      method: "PUT",
      url: `https://localhost:${f.port}/a/b?c=d`,
      dyn: "plain",
      body: "payload",
    });
  } finally {
    await client.close();
    await f.close();
  }
});

Deno.test("serveH3 decodes a HEADERS frame that arrives before the insert it needs", async () => {
  const f = await start(async (request) => describe(request, await request.text()));
  const client = await f.connect();
  try {
    const conn = client.connection;
    const encoder = (await conn.createUnidirectionalStream()).getWriter();
    await encoder.write(new Uint8Array([0x02]));
    // Required Insert Count 1, Base 1: the request pseudo-headers from the static table and
    // literals, then dynamic entry 0 as an indexed line (relative index 0).
    const prefix = encodeFieldSectionPrefix({
      requiredInsertCount: 1,
      base: 1,
      maxTableCapacity: 4096,
    });
    const rest = encodeFieldSection([
      [":method", "GET"],
      [":scheme", "https"],
      [":authority", `localhost:${f.port}`],
      [":path", "/blocked"],
    ]).subarray(2);
    const section = new Uint8Array([...prefix, ...rest, 0x80]);
    const stream = await conn.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(encodeHeadersFrame(section));
    await writer.close();
    // The request is blocked now; the insert arrives afterwards and unblocks it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await encoder.write(
      new Uint8Array([...encodeSetCapacity(4096), ...encodeInsertWithLiteralName("x-dyn", "hi")]),
    );
    let text = "";
    for await (const chunk of stream.readable) text += new TextDecoder().decode(chunk);
    assert.match(text, /"dyn":"hi"/);
    assert.match(text, /\/blocked/);
  } finally {
    await client.close();
    await f.close();
  }
});

Deno.test("serveH3 at connectionCountMax: an idle connection makes room, a busy one does not", async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const f = await start(async (request) => {
    if (new URL(request.url).pathname === "/slow") await gate;
    return new Response("ok");
  }, { connectionCountMax: 1 });
  const first = await f.connect();
  const others: H3Client[] = [];
  try {
    const slow = first.fetch(`https://localhost:${f.port}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The only connection has a request in flight: a newcomer is closed after its handshake.
    const refused = await f.connect();
    others.push(refused);
    await assert.rejects(async () => {
      await (await refused.fetch(`https://localhost:${f.port}/`)).text();
    });
    release();
    assert.equal(await (await slow).text(), "ok");
    // Now it is idle: the next newcomer takes its place.
    const second = await f.connect();
    others.push(second);
    assert.equal(await (await second.fetch(`https://localhost:${f.port}/`)).text(), "ok");
    assert.equal(f.server.connectionCount, 1);
  } finally {
    for (const client of others) await client.close().catch(() => {});
    await first.close().catch(() => {});
    await f.close();
  }
});

Deno.test("serveH3 caps concurrent request streams per connection", async () => {
  let active = 0;
  let activeMax = 0;
  const f = await start(async () => {
    activeMax = Math.max(activeMax, ++active);
    await new Promise((resolve) => setTimeout(resolve, 20));
    active--;
    return new Response("ok");
  }, { requestStreamCountMax: 2 });
  const client = await f.connect();
  try {
    const texts = await Promise.all(
      Array.from({ length: 12 }, async () => {
        return await (await client.fetch(`https://localhost:${f.port}/`)).text();
      }),
    );
    assert.deepEqual(texts, Array(12).fill("ok"));
    assert.ok(activeMax <= 2, `at most 2 requests at once, saw ${activeMax}`);
  } finally {
    await client.close();
    await f.close();
  }
});

Deno.test("serveH3 closes an idle connection", async () => {
  const f = await start(() => new Response("ok"), { idleTimeoutMs: 1000 });
  const client = await f.connect();
  try {
    assert.equal(await (await client.fetch(`https://localhost:${f.port}/`)).text(), "ok");
    // The client sees the idle close as an error ("timed out"); either way it ends.
    await client.connection.closed.catch(() => {});
    for (let i = 0; i < 500 && f.server.connectionCount > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(f.server.connectionCount, 0);
  } finally {
    await client.close();
    await f.close();
  }
});

Deno.test("serveH3 errors a body past bodyBytesMax and one shorter than content-length", async () => {
  const f = await start(async (request) => {
    try {
      return new Response(`read ${(await request.arrayBuffer()).byteLength}`);
    } catch {
      return new Response("refused", { status: 413 });
    }
  }, { bodyBytesMax: 1000 });
  const client = await f.connect();
  try {
    const origin = `https://localhost:${f.port}`;
    const small = await client.fetch(origin, { method: "POST", body: new Uint8Array(1000) });
    assert.equal(await small.text(), "read 1000");
    const big = await client.fetch(origin, { method: "POST", body: new Uint8Array(5000) });
    assert.equal(big.status, 413);
    await big.body?.cancel();
    // HEADERS says 10 bytes, DATA carries 4, then FIN: the body read fails.
    const stream = await client.connection.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(
      new Uint8Array([
        ...encodeHeadersFrame(encodeFieldSection([
          [":method", "POST"],
          [":scheme", "https"],
          [":authority", `localhost:${f.port}`],
          [":path", "/"],
          ["content-length", "10"],
        ])),
        ...encodeDataFrame(new Uint8Array(4)),
      ]),
    );
    await writer.close();
    let text = "";
    for await (const chunk of stream.readable) text += new TextDecoder().decode(chunk);
    assert.match(text, /refused/);
  } finally {
    await client.close();
    await f.close();
  }
});

Deno.test("serveH3 accepts trailers after the body", async () => {
  const f = await start(async (request) => new Response(await request.text()));
  const client = await f.connect();
  try {
    const stream = await client.connection.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(
      new Uint8Array([
        ...encodeHeadersFrame(encodeFieldSection([
          [":method", "POST"],
          [":scheme", "https"],
          [":authority", `localhost:${f.port}`],
          [":path", "/"],
        ])),
        ...encodeDataFrame(new TextEncoder().encode("body")),
        ...encodeHeadersFrame(encodeFieldSection([["x-checksum", "1"]])),
      ]),
    );
    await writer.close();
    let text = "";
    for await (const chunk of stream.readable) text += new TextDecoder().decode(chunk);
    assert.match(text, /body$/);
  } finally {
    await client.close();
    await f.close();
  }
});
