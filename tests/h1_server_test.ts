/**
 * The plaintext HTTP/1.1 server (`http1/`) over real sockets and a real pool: keep-alive,
 * pipelining, unknown methods never reading their body, Expect: 100-continue, chunked bodies,
 * request-smuggling refusals, the idle/head/body timeouts, lost clients, the connection cap, and
 * the Hono routes. The pool's in-use count is back to 0 after each test.
 */

import assert from "@std/assert";
import { type H1Limits, Http1Server } from "../http1/mod.ts";
import { type ListenerLimits, listenTcp, type TcpListener } from "../listener/tcp_listener.ts";
import type { Pool } from "../pool/mod.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import { openCore } from "./_core.ts";
import { allocTotal, eventually } from "./_rpc_harness.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ALT_SVC = 'h3=":4433"; ma=86400';
const EXTRA: HeaderPairs = [["alt-svc", ALT_SVC]];

/** A server over a fresh small pool, with short timeouts unless `limits` says otherwise. */
interface H1Fixture {
  readonly listener: TcpListener;
  readonly port: number;
  readonly pool: Pool;
  connect(): Promise<Deno.TcpConn>;
  /** Drains as the service does: new requests 503, in-flight ones finish, then close. */
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

function startH1(
  limits: Partial<H1Limits & ListenerLimits & { bodyStallTimeoutMs: number }> = {},
  fetchOverride?: (request: Request) => Response | Promise<Response>,
): H1Fixture {
  const { connectionCountMax, bodyStallTimeoutMs, ...h1 } = limits;
  const t = openCore({ coreLimits: { bodyStallTimeoutMs: bodyStallTimeoutMs ?? 400 } });
  let http1: Http1Server | null = null;
  const listener = listenTcp({
    port: 0,
    hostname: "127.0.0.1",
    tls: null,
    clock: t.clock,
    limits: connectionCountMax === undefined ? {} : { connectionCountMax },
    open: (conn) => http1!.connection(conn),
  });
  http1 = new Http1Server({
    core: t.core,
    fetch: fetchOverride ?? t.app.fetchWith(EXTRA),
    clock: t.clock,
    transport: "h1",
    extraHeaders: EXTRA,
    authority: `127.0.0.1:${listener.addr.port}`,
    limits: { idleTimeoutMs: 400, headTimeoutMs: 400, writeTimeoutMs: 400, ...h1 },
  });
  const port = listener.addr.port;
  const shutdown = () => {
    t.core.draining = true;
    http1!.startDraining();
    return listener.shutdown(10_000);
  };
  return {
    listener,
    port,
    pool: t.pool,
    connect: () => Deno.connect({ hostname: "127.0.0.1", port }),
    shutdown,
    async close() {
      await shutdown();
      await eventually(() => t.pool.inUseCount() === 0, 5000).catch(() => {});
      await t.close();
    },
  };
}

/** Starts a server with `limits`, opens one connection, runs `fn`, then closes both. */
async function withConnection(
  limits: Partial<H1Limits>,
  fn: (t: H1Fixture, conn: Deno.TcpConn) => Promise<void>,
): Promise<void> {
  const t = startH1(limits);
  const conn = await t.connect();
  try {
    await fn(t, conn);
  } finally {
    conn.close();
    await t.close();
  }
}

/** One parsed response. */
interface Parsed {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/** Reads responses off one connection, keeping bytes that belong to the next one. */
class Responses {
  #bytes = new Uint8Array(0);
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Reads more bytes; false at the end of the stream (or a reset). */
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.#conn.read(chunk).catch(() => null);
    if (n === null) return false;
    const joined = new Uint8Array(this.#bytes.length + n);
    joined.set(this.#bytes);
    joined.set(chunk.subarray(0, n), this.#bytes.length);
    this.#bytes = joined;
    return true;
  }

  /** The next response (a head with content-length, or a 1xx head alone). */
  async next(): Promise<Parsed> {
    for (let reads = 0; reads < 10_000; reads++) {
      const text = decoder.decode(this.#bytes);
      const split = text.indexOf("\r\n\r\n");
      if (split >= 0) {
        const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
        const headers = new Map<string, string>();
        for (const line of lines) {
          const colon = line.indexOf(":");
          headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
        }
        const status = Number(statusLine.split(" ")[1]);
        const length = status < 200 ? 0 : Number(headers.get("content-length") ?? "0");
        const headBytes = encoder.encode(text.slice(0, split + 4)).length;
        if (this.#bytes.length >= headBytes + length) {
          const body = decoder.decode(this.#bytes.subarray(headBytes, headBytes + length));
          this.#bytes = this.#bytes.slice(headBytes + length);
          return { status, headers, body };
        }
      }
      if (!(await this.#more())) throw new Error(`connection closed; got ${JSON.stringify(text)}`);
    }
    throw new Error("no complete response");
  }

  /** Whether the server closes the connection with no further bytes. */
  async closed(): Promise<boolean> {
    if (this.#bytes.length > 0) return false;
    return !(await this.#more());
  }
}

/**
 * Polls (every 50 ms, for at most `timeoutMs`) until the server holds no connection; the
 * milliseconds that took. Throws when one is still open at the end.
 */
async function closedWithinMs(t: H1Fixture, timeoutMs: number): Promise<number> {
  const startedMs = Date.now();
  for (let i = 0; i < timeoutMs / 50 && t.listener.connectionCount > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(t.listener.connectionCount, 0, `still open after ${timeoutMs} ms`);
  return Date.now() - startedMs;
}

/** A JSON system.echo request (head + body bytes). */
function echoRequest(payload: string, extra: Record<string, string> = {}): Uint8Array {
  const body = JSON.stringify({ payload: btoa(payload) });
  const lines = [
    "POST /rpc/system.echo HTTP/1.1",
    "Host: 127.0.0.1",
    "Content-Type: application/json",
    `Content-Length: ${body.length}`,
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
  ];
  return encoder.encode(lines.join("\r\n") + "\r\n\r\n" + body);
}

/** The decoded payload of an echo answer. */
function echoed(response: Parsed): string {
  assert.equal(response.status, 200, response.body);
  return atob(JSON.parse(response.body).payload);
}

Deno.test("h1: echo over one keep-alive connection, 200 times", async () => {
  await withConnection({}, async (t, conn) => {
    const responses = new Responses(conn);
    for (let i = 0; i < 200; i++) {
      await conn.write(echoRequest(`call ${i}`));
      const response = await responses.next();
      assert.equal(echoed(response), `call ${i}`);
      assert.equal(response.headers.get("alt-svc"), ALT_SVC);
      assert.equal(response.headers.get("connection"), undefined);
      assert.match(response.headers.get("date") ?? "", /GMT$/);
    }
    assert.equal(t.pool.inUseCount(), 0);
  });
});

Deno.test("h1: a body larger than the read buffer and an answer larger than the output buffer", async () => {
  await withConnection({}, async (t, conn) => {
    const payload = "x".repeat(30_000);
    const responses = new Responses(conn);
    for (let i = 0; i < 3; i++) {
      await conn.write(echoRequest(payload + i));
      const response = await responses.next();
      assert.equal(echoed(response), payload + i);
      assert.ok(Number(response.headers.get("content-length")) > 40_000);
    }
    assert.equal(allocTotal(t.pool) >= 6, true, "request and answer blocks were leased");
  });
});

Deno.test("h1: HTTP/1.0 closes by default and keeps the connection on keep-alive", async () => {
  await withConnection({}, async (_t, conn) => {
    const request = (connection: string) =>
      encoder.encode(`GET /healthz HTTP/1.0\r\n${connection}\r\n`);
    const responses = new Responses(conn);
    await conn.write(request("Connection: keep-alive\r\n"));
    const kept = await responses.next();
    assert.equal(kept.body, "ok");
    assert.equal(kept.headers.get("connection"), "keep-alive");
    await conn.write(request(""));
    const last = await responses.next();
    assert.equal(last.body, "ok");
    assert.equal(last.headers.get("connection"), "close");
    assert.equal(await responses.closed(), true);
  });
});

Deno.test("h1: two pipelined requests in one write are answered in order", async () => {
  await withConnection({}, async (_t, conn) => {
    const first = echoRequest("first");
    const second = encoder.encode("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    const third = echoRequest("third", { Connection: "close" });
    const all = new Uint8Array(first.length + second.length + third.length);
    all.set(first);
    all.set(second, first.length);
    all.set(third, first.length + second.length);
    await conn.write(all);
    const responses = new Responses(conn);
    assert.equal(echoed(await responses.next()), "first");
    const health = await responses.next();
    assert.equal(health.status, 200);
    assert.equal(health.body, "ok");
    const last = await responses.next();
    assert.equal(echoed(last), "third");
    assert.equal(last.headers.get("connection"), "close");
    assert.equal(await responses.closed(), true);
  });
});

Deno.test("h1: an unknown method is 501 at once; an unsent body over 1 MiB is never read (close)", async () => {
  await withConnection({}, async (t, conn) => {
    const allocs = allocTotal(t.pool);
    const head = "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\n" +
      "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n";
    await conn.write(encoder.encode(head));
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 501);
    assert.equal(JSON.parse(response.body).error.code, "unimplemented");
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(await responses.closed(), true);
    assert.equal(allocTotal(t.pool), allocs, "no block taken");
  });
});

Deno.test("h1: an early answer to a body of at most 1 MiB: it is read and dropped, the connection stays", async () => {
  await withConnection({}, async (t, conn) => {
    const allocs = allocTotal(t.pool);
    const bodyBytes = 1024 * 1024;
    const head = "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\n" +
      `Content-Type: application/json\r\nContent-Length: ${bodyBytes}\r\n\r\n`;
    await conn.write(encoder.encode(head));
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 501);
    assert.equal(response.headers.get("connection"), undefined, "kept");
    assert.equal(allocTotal(t.pool), allocs, "no block taken for the refused call");
    // The body after the answer, its last bytes in the same write as the next request: the
    // server drops exactly the body and must not swallow the request behind it.
    const body = new Uint8Array(bodyBytes).fill(0x20);
    const tail = 1000;
    for (let at = 0; at < bodyBytes - tail;) {
      at += await conn.write(body.subarray(at, bodyBytes - tail));
    }
    const next = echoRequest("after the dropped body");
    const last = new Uint8Array(tail + next.length);
    last.set(body.subarray(bodyBytes - tail));
    last.set(next, tail);
    for (let at = 0; at < last.length;) at += await conn.write(last.subarray(at));
    assert.equal(echoed(await responses.next()), "after the dropped body");
  });
});

Deno.test("h1: a dropped body that stops coming is cut by the timeout, and the connection closes", async () => {
  await withConnection({}, async (t, conn) => {
    await conn.write(encoder.encode(
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        "Content-Length: 100000\r\n\r\nonly this much",
    ));
    const response = await new Responses(conn).next();
    assert.equal(response.status, 501);
    assert.equal(response.headers.get("connection"), undefined);
    // The rest of the body never comes: the drop waits LINGER_MS (2 s), then the server closes.
    const elapsedMs = await closedWithinMs(t, 6000);
    assert.ok(elapsedMs >= 1500, `closed after ${elapsedMs} ms, before the 2 s timeout`);
  });
});

Deno.test("h1: an early answer to a refused Expect: 100-continue upload closes (no body is coming)", async () => {
  await withConnection({}, async (_t, conn) => {
    await conn.write(encoder.encode(
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        "Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
    ));
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 501);
    assert.equal(response.headers.get("connection"), "close");
    assert.equal(await responses.closed(), true);
  });
});

Deno.test("h1: an early answer with a body over 1 MiB still coming: drained, not reset", async () => {
  await withConnection({}, async (t, conn) => {
    const allocs = allocTotal(t.pool);
    const chunkBytes = 64 * 1024;
    const chunkCount = 24;
    const head =
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${chunkBytes * chunkCount}\r\n\r\n`;
    await conn.write(encoder.encode(head));
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 501);
    assert.equal(response.headers.get("connection"), "close");
    // A client that keeps uploading after the answer (as fetch clients do): a server that
    // closed with the bytes unread would reset the connection and these writes would fail
    // (EPIPE / ECONNRESET), losing the answer for clients that read it only after sending.
    const chunk = new Uint8Array(chunkBytes).fill(0x20);
    for (let i = 0; i < chunkCount; i++) {
      for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await responses.closed(), true);
    assert.equal(allocTotal(t.pool), allocs, "no block taken");
  });
});

Deno.test("h1: a lingering close is bounded: an endless upload is cut within seconds", async () => {
  await withConnection({}, async (_t, conn) => {
    await conn.write(encoder.encode(
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n",
    ));
    const response = await new Responses(conn).next();
    assert.equal(response.status, 501);
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    let cut = false;
    // At most 400 × 20 ms = 8 s; the server stops draining after 2 s.
    for (let i = 0; i < 400 && !cut; i++) {
      cut = await conn.write(chunk).then(() => false, () => true);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(cut, true, "the server closed while the client still sent");
  });
});

Deno.test("h1: a lingering close is bounded: a client that goes silent is closed by the timeout", async () => {
  await withConnection({}, async (t, conn) => {
    await conn.write(encoder.encode(
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        "Content-Length: 2000000\r\n\r\n",
    ));
    const responses = new Responses(conn);
    assert.equal((await responses.next()).status, 501);
    assert.equal(await responses.closed(), true, "the server shuts its side at once");
    // The client neither sends the body nor closes: only the linger's timeout (2 s) ends it.
    const elapsedMs = await closedWithinMs(t, 6000);
    assert.ok(elapsedMs >= 1500, `closed after ${elapsedMs} ms, before the linger's 2 s`);
  });
});

Deno.test("h1: an unknown method whose body is buffered is skipped; the connection stays", async () => {
  await withConnection({}, async (_t, conn) => {
    const body = '{"a":1}';
    await conn.write(encoder.encode(
      "POST /rpc/no.such.method HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    ));
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 501);
    assert.equal(response.headers.get("connection"), undefined);
    await conn.write(echoRequest("after"));
    assert.equal(echoed(await responses.next()), "after");
  });
});

Deno.test("h1: Expect: 100-continue is answered right before the body is read", async () => {
  await withConnection({}, async (_t, conn) => {
    const request = echoRequest("expected", { Expect: "100-continue" });
    const split = decoder.decode(request).indexOf("\r\n\r\n") + 4;
    await conn.write(request.subarray(0, split));
    const responses = new Responses(conn);
    const interim = await responses.next();
    assert.equal(interim.status, 100);
    await conn.write(request.subarray(split));
    assert.equal(echoed(await responses.next()), "expected");
  });
});

Deno.test("h1: the app's routes take no body: no 100, a body not sent yet closes after", async () => {
  await withConnection({}, async (_t, conn) => {
    await conn.write(encoder.encode(
      "POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    ));
    const responses = new Responses(conn);
    const answer = await responses.next();
    assert.equal(answer.status, 404, "no 100 Continue first");
    assert.equal(answer.headers.get("connection"), "close");
    assert.equal(await responses.closed(), true);
  });
});

Deno.test("h1: Expect: 100-continue refused early: 413 or 501 instead, no 100", async () => {
  const t = startH1();
  try {
    for (const [path, status] of [["/rpc/system.echo", 413], ["/rpc/nope", 501]] as const) {
      const conn = await t.connect();
      try {
        await conn.write(encoder.encode(
          `POST ${path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n` +
            "Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n",
        ));
        const responses = new Responses(conn);
        const response = await responses.next();
        assert.equal(response.status, status, path);
        assert.equal(response.headers.get("connection"), "close");
        assert.equal(await responses.closed(), true);
      } finally {
        conn.close();
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("h1: a chunked body is decoded into the lease; the next request follows", async () => {
  await withConnection({}, async (_t, conn) => {
    const body = JSON.stringify({ payload: btoa("chunked!") });
    const chunks = `5;ext=1\r\n${body.slice(0, 5)}\r\n${(body.length - 5).toString(16)}\r\n` +
      `${body.slice(5)}\r\n0\r\nX-Trailer: dropped\r\n\r\n`;
    await conn.write(encoder.encode(
      "POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        `Transfer-Encoding: chunked\r\n\r\n${chunks.slice(0, 9)}`,
    ));
    await new Promise((r) => setTimeout(r, 20));
    await conn.write(encoder.encode(chunks.slice(9)));
    const responses = new Responses(conn);
    assert.equal(echoed(await responses.next()), "chunked!");
    await conn.write(echoRequest("next"));
    assert.equal(echoed(await responses.next()), "next");
  });
});

Deno.test("h1: request smuggling shapes are refused and the connection closed", async () => {
  const t = startH1();
  const base = "POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n";
  const cases = [
    [`${base}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    [`${base}Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}`, 400],
    [`${base}Transfer-Encoding: gzip\r\n\r\n`, 501],
    [`${base}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400],
    [`${base}X-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\n{}`, 400],
    [`${base}Content-Length : 2\r\n\r\n{}`, 400],
    ["POST /rpc/system.echo HTTP/1.1\nHost: a\n\n", 400],
    ["GET /healthz HTTP/1.1\r\n\r\n", 400],
  ] as const;
  try {
    for (const [request, status] of cases) {
      const conn = await t.connect();
      try {
        await conn.write(encoder.encode(request));
        const responses = new Responses(conn);
        const response = await responses.next();
        assert.equal(response.status, status, JSON.stringify(request));
        assert.equal(response.headers.get("connection"), "close");
        assert.equal(await responses.closed(), true, JSON.stringify(request));
      } finally {
        conn.close();
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("h1: a bad head or a slow head after a served request still gets its answer", async () => {
  const t = startH1();
  try {
    for (const [next, status] of [["GET / HTTP/1.1\r\n\r\n", 400], ["GET / HT", 408]] as const) {
      const conn = await t.connect();
      try {
        await conn.write(echoRequest("first"));
        const responses = new Responses(conn);
        assert.equal(echoed(await responses.next()), "first");
        await conn.write(encoder.encode(next));
        assert.equal((await responses.next()).status, status, JSON.stringify(next));
        assert.equal(await responses.closed(), true);
      } finally {
        conn.close();
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("h1: a head larger than the read buffer is 431", async () => {
  await withConnection({ readBufferBytes: 4096 }, async (_t, conn) => {
    await conn.write(
      encoder.encode(`GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(5000)}`),
    );
    const responses = new Responses(conn);
    assert.equal((await responses.next()).status, 431);
    assert.equal(await responses.closed(), true);
  });
});

Deno.test("h1: a trickled head times out with 408 while a new client is served", async () => {
  const t = startH1({ idleTimeoutMs: 60_000 });
  const slow = await t.connect();
  const fresh = await t.connect();
  try {
    await slow.write(encoder.encode("POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nX-A: "));
    const slowResponses = new Responses(slow);
    const answered = slowResponses.next();
    // Keep trickling: progress does not extend the head's deadline.
    let trickling = true;
    const trickle = (async () => {
      for (let i = 0; i < 200 && trickling; i++) {
        await new Promise((r) => setTimeout(r, 50));
        await slow.write(encoder.encode("a")).catch(() => trickling = false);
      }
    })();
    await fresh.write(echoRequest("fresh"));
    assert.equal(echoed(await new Responses(fresh).next()), "fresh");
    const response = await answered;
    trickling = false;
    await trickle;
    assert.equal(response.status, 408);
    assert.equal(response.headers.get("connection"), "close");
  } finally {
    slow.close();
    fresh.close();
    await t.close();
  }
});

Deno.test("h1: an idle keep-alive connection is closed after the idle timeout", async () => {
  await withConnection({}, async (t, conn) => {
    await conn.write(echoRequest("once"));
    const responses = new Responses(conn);
    assert.equal(echoed(await responses.next()), "once");
    assert.equal(await responses.closed(), true, "closed without a further byte");
    await eventually(() => t.listener.connectionCount === 0, 5000);
  });
});

Deno.test("h1: a stalled body is cut with 408 and its lease released", async () => {
  await withConnection({}, async (t, conn) => {
    await conn.write(encoder.encode(
      "POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        'Content-Length: 3000\r\n\r\n{"payload":"',
    ));
    await eventually(() => t.pool.inUseCount() === 1, 5000);
    const responses = new Responses(conn);
    const response = await responses.next();
    assert.equal(response.status, 408);
    assert.equal(await responses.closed(), true);
    await eventually(() => t.pool.inUseCount() === 0, 5000);
  });
});

Deno.test("h1: a client closing mid-body releases the lease", async () => {
  const t = startH1({ bodyStallTimeoutMs: 60_000 });
  const conn = await t.connect();
  try {
    await conn.write(encoder.encode(
      "POST /rpc/system.echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        'Content-Length: 3000\r\n\r\n{"payload":"',
    ));
    await eventually(() => t.pool.inUseCount() === 1, 5000);
    conn.close();
    await eventually(() => t.pool.inUseCount() === 0, 5000);
    await eventually(() => t.listener.connectionCount === 0, 5000);
  } finally {
    try {
      conn.close();
    } catch {
      // Closed above.
    }
    await t.close();
  }
});

Deno.test("h1: at the cap an idle connection makes room; with none idle the newcomer is closed", async () => {
  const t = startH1({ connectionCountMax: 2, headTimeoutMs: 5000 });
  const busy = await t.connect();
  const idle = await t.connect();
  const conns = [busy, idle];
  try {
    await eventually(() => t.listener.connectionCount === 2, 5000);
    // One connection is in the middle of a head (busy), the other has sent nothing (idle).
    await busy.write(encoder.encode("POST /rpc/system.echo HTTP/1.1\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const newcomer = await t.connect();
    conns.push(newcomer);
    assert.equal(await new Responses(idle).closed(), true, "the idle one was evicted");
    await newcomer.write(echoRequest("served"));
    assert.equal(echoed(await new Responses(newcomer).next()), "served");
    assert.equal(t.listener.evictedCount, 1);
    // Now both are busy or just served: the served one is idle again and makes room once more;
    // keep it busy with a partial head so that no connection is idle.
    await newcomer.write(encoder.encode("POST /rpc/system.echo HTTP/1.1\r\n"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const over = await t.connect();
    conns.push(over);
    assert.equal(await new Responses(over).closed(), true);
    assert.equal(t.listener.refusedCount, 1);
  } finally {
    for (const conn of conns) conn.close();
    await t.close();
  }
});

Deno.test("h1: the app's routes: healthz, HEAD, metrics, 404, a batch, an escaped path", async () => {
  const t = startH1();
  const base = `http://127.0.0.1:${t.port}`;
  try {
    const health = await fetch(`${base}/healthz`);
    assert.equal(await health.text(), "ok");
    assert.equal(health.headers.get("alt-svc"), ALT_SVC);
    const head = await fetch(`${base}/healthz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^pool_blocks_in_use\{class_bytes="4096"\} 0$/m);
    const missing = await fetch(`${base}/no/such/page`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    // A batch is the core's (POST /rpc); without a capnp body it is refused there.
    const batch = await fetch(`${base}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "[]",
    });
    assert.equal(batch.status, 415);
    await batch.arrayBuffer();
    // A %-escaped method name is not decoded: it names no method (501).
    const escaped = await fetch(`${base}/rpc/system%2Eecho`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: btoa("esc") }),
    });
    assert.equal(escaped.status, 501);
    assert.equal((await escaped.json()).error.code, "unimplemented");
  } finally {
    await t.close();
  }
});

Deno.test("h1: shutdown answers new requests 503, lets the in-flight call finish", async () => {
  const t = startH1({ bodyStallTimeoutMs: 60_000 });
  const busy = await t.connect();
  const idle = await t.connect();
  try {
    const request = echoRequest("in flight");
    await busy.write(request.subarray(0, request.length - 5));
    await eventually(() => t.pool.inUseCount() === 1, 5000);
    const stopping = t.shutdown();
    await idle.write(echoRequest("late"));
    const late = await new Responses(idle).next();
    assert.equal(late.status, 503);
    assert.equal(late.headers.get("retry-after"), "1");
    // A connection made while draining is accepted, and its request refused the same way.
    const fresh = await t.connect();
    try {
      await fresh.write(echoRequest("fresh"));
      assert.equal((await new Responses(fresh).next()).status, 503);
    } finally {
      fresh.close();
    }
    await busy.write(request.subarray(request.length - 5));
    assert.equal(echoed(await new Responses(busy).next()), "in flight");
    await stopping;
    await assert.rejects(() => t.connect());
  } finally {
    busy.close();
    idle.close();
    await t.close();
  }
});

/** A body of `chunks` chunks of 40,000 bytes each ("a", "b", ...), streamed. */
function streamed(chunks: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === chunks) return controller.close();
      controller.enqueue(encoder.encode(String.fromCharCode(97 + sent).repeat(40_000)));
      sent++;
    },
  });
}

Deno.test("h1: large app bodies: chunked, declared length, HTTP/1.0 until close", async () => {
  const t = startH1({}, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/declared") {
      return new Response(streamed(3), { headers: { "content-length": "120000" } });
    }
    return new Response(streamed(3), { headers: { "x-kind": path } });
  });
  const expected = "a".repeat(40_000) + "b".repeat(40_000) + "c".repeat(40_000);
  try {
    const chunked = await fetch(`http://127.0.0.1:${t.port}/chunked`);
    assert.equal(chunked.headers.get("x-kind"), "/chunked");
    assert.equal(await chunked.text(), expected);
    const declared = await fetch(`http://127.0.0.1:${t.port}/declared`);
    assert.equal(declared.headers.get("content-length"), "120000");
    assert.equal(await declared.text(), expected);
    const conn = await t.connect();
    try {
      await conn.write(encoder.encode("GET /old HTTP/1.0\r\n\r\n"));
      let text = "";
      const buf = new Uint8Array(65536);
      for (let reads = 0; reads < 10_000; reads++) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n));
      }
      const split = text.indexOf("\r\n\r\n");
      assert.doesNotMatch(text.slice(0, split), /content-length|transfer-encoding/i);
      assert.match(text.slice(0, split), /\r\nconnection: close/);
      assert.equal(text.slice(split + 4), expected);
    } finally {
      conn.close();
    }
  } finally {
    await t.close();
  }
});
