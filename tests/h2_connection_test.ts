/**
 * The HTTP/2 engine over real TLS (and h2c) sockets, driven frame by frame by a raw client:
 * requests and responses, flow control by grants, early answers, streamed answers, trailers,
 * graceful shutdown, the connection timeouts and the request-head cache.
 */

import assert from "@std/assert";
import { Clock } from "../clock/mod.ts";
import { H2Connection, type H2Handler, h2Limits } from "../http2/mod.ts";
import {
  CONNECTION_PREFACE,
  encodeFrame,
  FRAME_FLAG,
  FRAME_TYPE,
  writeU32,
} from "../http2/frame.ts";
import { encodeSettingsFrame, SETTING } from "../http2/settings.ts";
import { type Frame, H2_ERROR, RawH2Client, requestFields } from "./_h2_client.ts";
import { echoHandler, startH2Server } from "./_h2_server.ts";

const text = new TextDecoder();
const isHeaders = (id: number) => (f: Frame) => f.type === FRAME_TYPE.HEADERS && f.streamId === id;
const isEnd = (id: number) => (f: Frame) =>
  f.streamId === id && (f.flags & FRAME_FLAG.END_STREAM) !== 0 &&
  (f.type === FRAME_TYPE.DATA || f.type === FRAME_TYPE.HEADERS);
const isRst = (id: number) => (f: Frame) => f.type === FRAME_TYPE.RST_STREAM && f.streamId === id;
const isGoaway = (f: Frame) => f.type === FRAME_TYPE.GOAWAY;

function windowUpdate(streamId: number, increment: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, increment);
  return encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, streamId, payload);
}

/** Waits for the server's SETTINGS and acknowledges them (our 16 KiB window then applies). */
async function settle(client: RawH2Client): Promise<void> {
  await client.waitFor((f) => f.type === FRAME_TYPE.SETTINGS && f.flags === 0);
  await client.send(encodeFrame(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0));
}

Deno.test("h2: a GET is answered with HEADERS and DATA, the server's SETTINGS first", async () => {
  const { handler, record } = echoHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    assert.equal(
      client.frames.length > 0 ? client.frames[0].type : FRAME_TYPE.SETTINGS,
      FRAME_TYPE.SETTINGS,
    );
    await client.send(
      client.headers(
        1,
        requestFields("GET", "/hello", [["cookie", "a=1"], ["cookie", "b=2"]]),
        true,
      ),
    );
    const head = await client.waitFor(isHeaders(1));
    await client.waitFor(isEnd(1));
    assert.deepEqual(client.decodeHeaders(head), [[":status", "200"], [
      "content-type",
      "text/plain",
    ]]);
    assert.equal(text.decode(client.body(1).bytes), "ok /hello");
    const seen = record.heads[0];
    assert.equal(seen.method, "GET");
    assert.equal(seen.path, "/hello");
    assert.equal(seen.scheme, "https");
    assert.equal(seen.authority, "localhost");
    assert.equal(seen.endStream, true);
    assert.equal(seen.contentLengthBytes, -1);
    assert.deepEqual(seen.fields, [["cookie", "a=1; b=2"]]);
    assert.deepEqual(record.done, ["1 ok"]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: a POST body is delivered as it arrives and echoed; the grant opens the window", async () => {
  const { handler, record } = echoHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port, {
    autoAck: false,
    settings: [[SETTING.INITIAL_WINDOW_SIZE, 1 << 20]],
  });
  try {
    await settle(client);
    await client.send(windowUpdate(0, 1 << 20));
    const body = new Uint8Array(100_000).map((_, i) => i % 251);
    const frames = [
      client.headers(1, requestFields("POST", "/echo", [["content-length", "100000"]]), false),
    ];
    for (let at = 0; at < body.length; at += 16384) {
      frames.push(client.data(1, body.subarray(at, at + 16384), at + 16384 >= body.length));
    }
    await client.send(...frames);
    // The grant for the declared length was announced as a WINDOW_UPDATE on the stream.
    const update = await client.waitFor((f) =>
      f.type === FRAME_TYPE.WINDOW_UPDATE && f.streamId === 1
    );
    assert.equal(new DataView(update.payload.buffer).getUint32(0), 100_000);
    await client.waitFor(isEnd(1));
    assert.deepEqual(client.body(1).bytes, body);
    assert.equal(record.events.filter((e) => e.startsWith("data 1")).length, 7);
    assert.equal(record.events.at(-1), "end 1");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: without a grant a stream may send only the initial 16 KiB window", async () => {
  const events: string[] = [];
  const handler: H2Handler = {
    onRequest: () => ({
      onData: (bytes) => events.push(`data ${bytes.length}`),
      onEnd: () => events.push("end"),
      onAbort: (reason) => events.push(`abort ${reason.message}`),
    }),
  };
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port, { autoAck: false });
  try {
    await settle(client);
    await client.send(
      client.headers(1, requestFields("POST", "/x"), false),
      client.data(1, new Uint8Array(16384), false),
      client.data(1, new Uint8Array(1), false),
    );
    await client.waitFor(isRst(1));
    assert.equal(client.rstCode(1), H2_ERROR.FLOW_CONTROL_ERROR);
    assert.equal(events[0], "data 16384");
    assert.match(events[1], /^abort FLOW_CONTROL_ERROR/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: an early answer ends the upload with RST_STREAM(NO_ERROR); late DATA is ignored", async () => {
  const handler: H2Handler = {
    onRequest(_head, stream) {
      stream.respond(413, [["content-type", "text/plain"]], new TextEncoder().encode("too large"));
      return { onData() {}, onEnd() {}, onAbort() {} };
    },
  };
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(
      client.headers(1, requestFields("POST", "/big", [["content-length", "5"]]), false),
    );
    await client.waitFor(isRst(1));
    assert.equal(client.rstCode(1), H2_ERROR.NO_ERROR);
    assert.deepEqual(client.decodeHeaders(client.frames.find(isHeaders(1))!)[0], [
      ":status",
      "413",
    ]);
    // DATA the client had in flight is discarded; the connection stays usable.
    await client.send(
      client.data(1, new Uint8Array(5), true),
      client.headers(3, requestFields("GET", "/"), true),
    );
    await client.waitFor(isEnd(3));
    assert.equal(client.goaway(), null);
    assert.equal(client.rstCode(3), undefined);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: a streamed answer writes chunks under flow control; onDone waits for the window", async () => {
  const done: string[] = [];
  const handler: H2Handler = {
    onRequest(head, stream) {
      if (head.path === "/stream") {
        stream.respondHead(200, [["content-type", "text/plain"]]);
        (async () => {
          for (const part of ["one ", "two ", "three"]) {
            await stream.write(new TextEncoder().encode(part));
          }
          stream.end();
        })();
      } else {
        const body = new Uint8Array(5000).fill(7);
        stream.respond(200, [], body, (error) => done.push(error === null ? "ok" : error.message));
      }
      return { onData() {}, onEnd() {}, onAbort() {} };
    },
  };
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port, {
    settings: [[SETTING.INITIAL_WINDOW_SIZE, 1000]],
  });
  try {
    await client.send(client.headers(1, requestFields("GET", "/stream"), true));
    await client.waitFor(isEnd(1));
    assert.equal(text.decode(client.body(1).bytes), "one two three");
    await client.send(client.headers(3, requestFields("GET", "/big"), true));
    await client.waitFor((f) => f.type === FRAME_TYPE.DATA && f.streamId === 3);
    assert.equal(client.body(3).bytes.length, 1000);
    assert.deepEqual(done, []);
    await client.send(windowUpdate(3, 4000));
    await client.waitFor(isEnd(3));
    assert.equal(client.body(3).bytes.length, 5000);
    assert.deepEqual(done, ["ok"]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: trailers end the body; trailers with a pseudo-header are a stream error", async () => {
  const { handler, record } = echoHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(
      client.headers(1, requestFields("POST", "/t"), false),
      client.data(1, new Uint8Array([1, 2, 3]), false),
      client.headers(1, [["x-checksum", "6"]], true),
      client.headers(3, requestFields("POST", "/t"), false),
      client.headers(3, [[":path", "/bad"]], true),
    );
    await client.waitFor(isEnd(1));
    assert.deepEqual(client.body(1).bytes, new Uint8Array([1, 2, 3]));
    await client.waitFor(isRst(3));
    assert.equal(client.rstCode(3), H2_ERROR.PROTOCOL_ERROR);
    assert.ok(record.events.includes("end 1"));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: a repeated header block is served from the head cache (same fields object)", async () => {
  const { handler, record } = echoHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    const fields = requestFields("GET", "/same", [["user-agent", "test/1"], ["accept", "*/*"]]);
    await client.send(client.headers(1, fields, true), client.headers(3, fields, true));
    await client.waitFor(isEnd(3));
    assert.equal(record.heads.length, 2);
    assert.equal(record.heads[0].fields, record.heads[1].fields);
    assert.equal(record.heads[1].streamId, 3);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: a handler that throws gets its stream reset INTERNAL_ERROR; the connection goes on", async () => {
  const handler: H2Handler = {
    onRequest(head, stream) {
      if (head.path === "/boom") throw new Error("boom");
      stream.respond(204, [], null);
      return { onData() {}, onEnd() {}, onAbort() {} };
    },
  };
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(
      client.headers(1, requestFields("GET", "/boom"), true),
      client.headers(3, requestFields("GET", "/"), true),
    );
    await client.waitFor(isEnd(3));
    assert.equal(client.rstCode(1), H2_ERROR.INTERNAL_ERROR);
    assert.equal((server.handlerErrors[0] as Error).message, "boom");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: shutdown sends GOAWAY, refuses new streams, lets the open one finish, then closes", async () => {
  let pending: (() => void) | null = null;
  const handler: H2Handler = {
    onRequest(_head, stream) {
      pending = () => stream.respond(200, [], new TextEncoder().encode("late"));
      return { onData() {}, onEnd() {}, onAbort() {} };
    },
  };
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(client.headers(1, requestFields("GET", "/slow"), true));
    await client.clock.within(
      (async () => {
        while (pending === null) await client.clock.sleep(5);
      })(),
      5000,
      undefined,
    );
    const connection = server.connections[0];
    const shut = connection.shutdown();
    await client.waitFor(isGoaway);
    assert.deepEqual(client.goaway(), { lastStreamId: 1, code: H2_ERROR.NO_ERROR, debug: "" });
    await client.send(client.headers(3, requestFields("GET", "/new"), true));
    await client.waitFor(isRst(3));
    assert.equal(client.rstCode(3), H2_ERROR.REFUSED_STREAM);
    pending!();
    await shut;
    assert.ok(await client.waitClosed());
    assert.equal(text.decode(client.body(1).bytes), "late");
    assert.equal(connection.closed, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: the drain timeout ends a shutdown whose stream never answers (onAbort)", async () => {
  const aborts: string[] = [];
  const handler: H2Handler = {
    onRequest: () => ({ onData() {}, onEnd() {}, onAbort: (e) => aborts.push(e.message) }),
  };
  const server = await startH2Server({ handler, limits: { drainTimeoutMs: 200 } });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(client.headers(1, requestFields("POST", "/never"), false));
    await client.clock.within(
      (async () => {
        while (server.connections[0]?.openStreamCount !== 1) await client.clock.sleep(5);
      })(),
      5000,
      undefined,
    );
    const started = Date.now();
    await server.connections[0].shutdown();
    assert.ok(Date.now() - started >= 150);
    assert.equal(aborts.length, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("h2: timeouts — idle, SETTINGS ACK, unfinished header block, partial frame, preface", async () => {
  const { handler } = echoHandler();
  const limits = { idleTimeoutMs: 300, settingsAckTimeoutMs: 300, headerBlockTimeoutMs: 300 };
  const server = await startH2Server({ handler, limits });
  const cases: [string, (c: RawH2Client) => Promise<void>, number][] = [
    ["idle", async () => {}, H2_ERROR.NO_ERROR],
    ["settings ack", async () => {}, H2_ERROR.SETTINGS_TIMEOUT],
    [
      "header block",
      (c) => c.send(encodeFrame(FRAME_TYPE.HEADERS, 0, 1, new Uint8Array([0x82]))),
      H2_ERROR.ENHANCE_YOUR_CALM,
    ],
    [
      "partial frame",
      (c) => c.send(new Uint8Array([0, 0, 8, FRAME_TYPE.PING, 0])),
      H2_ERROR.ENHANCE_YOUR_CALM,
    ],
  ];
  try {
    for (const [name, act, code] of cases) {
      const client = await RawH2Client.connect(server.port, { autoAck: name !== "settings ack" });
      await client.waitFor((f) => f.type === FRAME_TYPE.SETTINGS);
      await act(client);
      assert.ok(await client.waitClosed(3000), name);
      assert.equal(client.goaway()?.code, code, name);
      await client.close();
    }
    // No preface at all: closed after the head timeout.
    const silent = await RawH2Client.connect(server.port, { preface: false });
    assert.ok(await silent.waitClosed(3000));
    await silent.close();
  } finally {
    await server.close();
  }
});

Deno.test("h2c: prior knowledge on a plaintext conn, with bytes the listener already read", async () => {
  const { handler } = echoHandler();
  const clock = new Clock();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const first = new Uint8Array(10);
    let got = 0;
    while (got < first.length) got += (await conn.read(first.subarray(got)))!;
    assert.deepEqual(first, CONNECTION_PREFACE.subarray(0, 10));
    await new H2Connection(conn, { handler, clock, limits: h2Limits(), preread: first }).run();
  })();
  const client = await RawH2Client.connect((listener.addr as Deno.NetAddr).port, {
    plaintext: true,
    preface: false,
  });
  try {
    await client.send(
      CONNECTION_PREFACE,
      encodeSettingsFrame([]),
      client.headers(1, requestFields("GET", "/c"), true),
    );
    await client.waitFor(isEnd(1));
    assert.equal(text.decode(client.body(1).bytes), "ok /c");
  } finally {
    await client.close();
    await served;
    listener.close();
    clock.close();
  }
});
