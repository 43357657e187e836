/**
 * The known HTTP/2 attacks against the engine, each with the limit that stops it and the answer
 * the peer gets (issue 14 item 4), over real TLS sockets: rapid reset, CONTINUATION flood (bytes
 * and time), HPACK bomb, table size updates above our setting, SETTINGS / PING / empty-DATA /
 * WINDOW_UPDATE / PRIORITY floods, a zero-window reader, a peer that never reads, the
 * concurrency cap and its abuse, stream-ID exhaustion; and the memory one connection can make
 * the engine hold, by its own accounting and by RSS.
 */

import assert from "@std/assert";
import {
  FloodError,
  h2ConnectionMemoryBoundBytes,
  type H2Handler,
  h2Limits,
} from "../http2/mod.ts";
import {
  CONNECTION_PREFACE,
  encodeFrame,
  FRAME_FLAG,
  FRAME_TYPE,
  STREAM_ID_MAX,
  writeU32,
} from "../http2/frame.ts";
import { encodeFieldBlock } from "../http2/hpack_encoder.ts";
import { encodeSettingsFrame, SETTING } from "../http2/settings.ts";
import { type Frame, H2_ERROR, RawH2Client, requestFields } from "./_h2_client.ts";
import { echoHandler, startH2Server, testCertificates } from "./_h2_server.ts";

const isGoaway = (f: Frame) => f.type === FRAME_TYPE.GOAWAY;
const isRst = (id: number) => (f: Frame) => f.type === FRAME_TYPE.RST_STREAM && f.streamId === id;

function u32Payload(value: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeU32(payload, 0, value);
  return payload;
}

/** A handler that never answers and records aborts and body bytes. */
function silentHandler(): { handler: H2Handler; aborts: string[]; opened: number[] } {
  const aborts: string[] = [];
  const opened: number[] = [];
  const handler: H2Handler = {
    onRequest(head) {
      opened.push(head.streamId);
      return {
        onData() {},
        onEnd() {},
        onAbort: (e) => aborts.push(`${head.streamId} ${e.message}`),
      };
    },
  };
  return { handler, aborts, opened };
}

/** Sends `frames`, then expects GOAWAY ENHANCE_YOUR_CALM naming `flood`, and the close. */
async function expectCalm(
  limits: Parameters<typeof startH2Server>[0]["limits"],
  build: (client: RawH2Client) => Uint8Array[],
  flood: string,
): Promise<void> {
  const { handler } = silentHandler();
  const server = await startH2Server({ handler, limits });
  const client = await RawH2Client.connect(server.port);
  try {
    await client.send(...build(client));
    await client.waitFor(isGoaway);
    assert.equal(client.goaway()?.code, H2_ERROR.ENHANCE_YOUR_CALM);
    assert.match(client.goaway()!.debug, new RegExp(`^ENHANCE_YOUR_CALM: ${flood}`));
    assert.ok(await client.waitClosed());
    const error = server.connections[0].closeError;
    assert.ok(error instanceof FloodError && error.flood === flood, String(error));
  } finally {
    await client.close();
    await server.close();
  }
}

Deno.test("attack: rapid reset (CVE-2023-44487) — 200 resets per second, then ENHANCE_YOUR_CALM", async () => {
  await expectCalm({}, (client) => {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 201; i++) {
      const id = 1 + 2 * i;
      frames.push(client.headers(id, requestFields("POST", "/x"), false));
      frames.push(encodeFrame(FRAME_TYPE.RST_STREAM, 0, id, u32Payload(H2_ERROR.CANCEL)));
    }
    return frames;
  }, "rapid_reset");
});

Deno.test("attack: SETTINGS, PING, empty DATA, WINDOW_UPDATE and PRIORITY floods are calmed", async () => {
  const many = (n: number, frame: Uint8Array) => Array.from({ length: n }, () => frame);
  await expectCalm({}, () => many(51, encodeSettingsFrame([])), "settings_flood");
  await expectCalm(
    {},
    () => many(501, encodeFrame(FRAME_TYPE.PING, 0, 0, new Uint8Array(8))),
    "ping_flood",
  );
  await expectCalm({}, (client) => [
    client.headers(1, requestFields("POST", "/x"), false),
    ...many(201, encodeFrame(FRAME_TYPE.DATA, 0, 1)),
  ], "empty_data_flood");
  await expectCalm(
    {},
    () => many(2001, encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, 0, u32Payload(1))),
    "window_update_flood",
  );
  const priority = new Uint8Array([0, 0, 0, 0, 16]);
  await expectCalm(
    {},
    () => many(501, encodeFrame(FRAME_TYPE.PRIORITY, 0, 3, priority)),
    "priority_flood",
  );
});

Deno.test("attack: CONTINUATION flood — block bytes capped (empty frames count 9), then ENHANCE_YOUR_CALM", async () => {
  for (const fragmentBytes of [1000, 0]) {
    const { handler, opened } = silentHandler();
    const server = await startH2Server({ handler });
    const client = await RawH2Client.connect(server.port);
    try {
      const first = encodeFieldBlock(requestFields("GET", "/"));
      const frames = [encodeFrame(FRAME_TYPE.HEADERS, 0, 1, first)];
      const fragment = new Uint8Array(fragmentBytes);
      for (let i = 0; i < 2000; i++) {
        frames.push(encodeFrame(FRAME_TYPE.CONTINUATION, 0, 1, fragment));
      }
      await client.send(...frames);
      await client.waitFor(isGoaway);
      assert.equal(client.goaway()?.code, H2_ERROR.ENHANCE_YOUR_CALM);
      assert.match(client.goaway()!.debug, /header block of stream 1 exceeds 16384 bytes/);
      assert.deepEqual(opened, []);
    } finally {
      await client.close();
      await server.close();
    }
  }
});

Deno.test("attack: a header block trickled in CONTINUATION frames hits the header-block timeout", async () => {
  const { handler } = silentHandler();
  const server = await startH2Server({ handler, limits: { headerBlockTimeoutMs: 400 } });
  const client = await RawH2Client.connect(server.port);
  try {
    const started = Date.now();
    await client.send(
      encodeFrame(FRAME_TYPE.HEADERS, 0, 1, encodeFieldBlock(requestFields("GET", "/"))),
    );
    for (let i = 0; i < 30 && !client.closed; i++) {
      await client.clock.sleep(50);
      await client.send(
        encodeFrame(FRAME_TYPE.CONTINUATION, 0, 1, new Uint8Array([0x40, 1, 0x61, 1, 0x62])),
      ).catch(() => {});
    }
    assert.ok(await client.waitClosed());
    assert.equal(client.goaway()?.code, H2_ERROR.ENHANCE_YOUR_CALM);
    assert.ok(
      Date.now() - started < 1400,
      "closed near the timeout, not at the end of the trickle",
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("attack: HPACK bomb — a decoded list over SETTINGS_MAX_HEADER_LIST_SIZE gets 431, the table stays in step", async () => {
  const { handler, record } = echoHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    // One 4,000-byte entry, then 100 one-byte references to it: 400 KB from 104 bytes.
    const insert = [0x40, 0x01, 0x78, 0x7f, 0xa1, 0x1e, ...new Uint8Array(4000).fill(0x79)];
    const bomb = [...encodeFieldBlock(requestFields("GET", "/bomb")), ...insert];
    for (let i = 0; i < 100; i++) bomb.push(0x80 | 62);
    const end = FRAME_FLAG.END_HEADERS | FRAME_FLAG.END_STREAM;
    await client.send(encodeFrame(FRAME_TYPE.HEADERS, end, 1, new Uint8Array(bomb)));
    const head = await client.waitFor((f) => f.type === FRAME_TYPE.HEADERS && f.streamId === 1);
    assert.deepEqual(client.decodeHeaders(head), [[":status", "431"]]);
    // The entry went into the table: a later block may refer to it and decodes the same.
    const ok = [...encodeFieldBlock(requestFields("GET", "/after")), 0x80 | 62];
    await client.send(encodeFrame(FRAME_TYPE.HEADERS, end, 3, new Uint8Array(ok)));
    await client.waitFor((f) => f.streamId === 3 && (f.flags & FRAME_FLAG.END_STREAM) !== 0);
    assert.equal(record.heads.length, 1);
    assert.equal(record.heads[0].fields[0][1].length, 4000);
    assert.ok(server.connections[0].heldBytes <= h2ConnectionMemoryBoundBytes(h2Limits()));
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("attack: a dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE is COMPRESSION_ERROR", async () => {
  const { handler } = silentHandler();
  const server = await startH2Server({ handler });
  const client = await RawH2Client.connect(server.port);
  try {
    const block = new Uint8Array([
      0x3f,
      0xe2,
      0x1f,
      ...encodeFieldBlock(requestFields("GET", "/")),
    ]); // 4097
    await client.send(
      encodeFrame(FRAME_TYPE.HEADERS, FRAME_FLAG.END_HEADERS | FRAME_FLAG.END_STREAM, 1, block),
    );
    await client.waitFor(isGoaway);
    assert.equal(client.goaway()?.code, H2_ERROR.COMPRESSION_ERROR);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("attack: a zero-window reader — the stalled answer is reset CANCEL and onDone(error) releases it", async () => {
  const done: string[] = [];
  const aborts: string[] = [];
  const handler: H2Handler = {
    onRequest(_head, stream) {
      stream.respond(
        200,
        [],
        new Uint8Array(1000),
        (e) => done.push(e === null ? "ok" : e.message),
      );
      return { onData() {}, onEnd() {}, onAbort: (e) => aborts.push(e.message) };
    },
  };
  const server = await startH2Server({ handler, limits: { writeStallTimeoutMs: 300 } });
  const client = await RawH2Client.connect(server.port, {
    settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]],
  });
  try {
    await client.send(client.headers(1, requestFields("GET", "/"), true));
    await client.waitFor(isRst(1), 3000);
    assert.equal(client.rstCode(1), H2_ERROR.CANCEL);
    assert.equal(done.length, 1);
    assert.match(done[0], /write stalled/);
    assert.equal(aborts.length, 1);
    assert.equal(server.connections[0].openStreamCount, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("attack: a peer that never reads — the stalled write closes the connection, the answer fails", async () => {
  const done: string[] = [];
  const body = new Uint8Array(64 * 1024 * 1024);
  const handler: H2Handler = {
    onRequest(_head, stream) {
      stream.respond(200, [], body, (e) => done.push(e === null ? "ok" : e.message));
      return { onData() {}, onEnd() {}, onAbort() {} };
    },
  };
  const server = await startH2Server({ handler, limits: { writeStallTimeoutMs: 300 } });
  const { ca } = await testCertificates();
  const conn = await Deno.connectTls({
    hostname: "localhost",
    port: server.port,
    caCerts: [ca],
    alpnProtocols: ["h2"],
  });
  try {
    const settings = encodeSettingsFrame([[SETTING.INITIAL_WINDOW_SIZE, STREAM_ID_MAX]]);
    const update = encodeFrame(FRAME_TYPE.WINDOW_UPDATE, 0, 0, u32Payload(STREAM_ID_MAX - 65535));
    const ack = encodeFrame(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0);
    const request = encodeFrame(
      FRAME_TYPE.HEADERS,
      FRAME_FLAG.END_HEADERS | FRAME_FLAG.END_STREAM,
      1,
      encodeFieldBlock(requestFields("GET", "/")),
    );
    for (const part of [CONNECTION_PREFACE, settings, update, ack, request]) await conn.write(part);
    // Never read: the kernel buffers fill, the server's write stops completing.
    const closed = server.connections[0];
    const until = Date.now() + 10_000;
    while (!closed.closed && Date.now() < until) await server.clock.sleep(50);
    assert.ok(closed.closed);
    assert.equal(done.length, 1);
    assert.notEqual(done[0], "ok");
  } finally {
    conn.close();
    await server.close();
  }
});

Deno.test("attack: SETTINGS_MAX_CONCURRENT_STREAMS is enforced (REFUSED_STREAM), repeated abuse is calmed", async () => {
  const { handler, opened } = silentHandler();
  const server = await startH2Server({
    handler,
    limits: { maxConcurrentStreams: 4, refusedStreamsPerIntervalMax: 10 },
  });
  const client = await RawH2Client.connect(server.port);
  try {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      frames.push(client.headers(1 + 2 * i, requestFields("POST", "/"), false));
    }
    await client.send(...frames);
    await client.waitFor(isRst(9));
    assert.equal(client.rstCode(9), H2_ERROR.REFUSED_STREAM);
    assert.deepEqual(opened, [1, 3, 5, 7]);
    const more: Uint8Array[] = [];
    for (let i = 5; i < 20; i++) {
      more.push(client.headers(1 + 2 * i, requestFields("POST", "/"), false));
    }
    await client.send(...more);
    await client.waitFor(isGoaway);
    assert.equal(client.goaway()?.code, H2_ERROR.ENHANCE_YOUR_CALM);
    assert.match(client.goaway()!.debug, /refused_stream_abuse/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("attack: stream-ID exhaustion (and the per-connection stream count) end in a graceful GOAWAY", async () => {
  const { handler } = echoHandler();
  const server = await startH2Server({ handler, limits: { streamsPerConnectionMax: 3 } });
  try {
    const client = await RawH2Client.connect(server.port);
    await client.send(client.headers(STREAM_ID_MAX, requestFields("GET", "/last"), true));
    await client.waitFor(isGoaway);
    assert.deepEqual(client.goaway(), {
      lastStreamId: STREAM_ID_MAX,
      code: H2_ERROR.NO_ERROR,
      debug: "",
    });
    assert.ok(await client.waitClosed());
    assert.ok(client.body(STREAM_ID_MAX).ended, "the last stream was still answered");
    await client.close();
    const counted = await RawH2Client.connect(server.port);
    await counted.send(
      ...[1, 3, 5].map((id) => counted.headers(id, requestFields("GET", "/"), true)),
    );
    await counted.waitFor(isGoaway);
    assert.equal(counted.goaway()?.lastStreamId, 5);
    assert.ok(await counted.waitClosed());
    assert.ok([1, 3, 5].every((id) => counted.body(id).ended));
    await counted.close();
  } finally {
    await server.close();
  }
});

Deno.test("memory: max streams with max heads stay within the engine's formula (its own accounting)", async () => {
  const limits = h2Limits();
  const bound = h2ConnectionMemoryBoundBytes(limits);
  const { handler, opened } = silentHandler();
  const server = await startH2Server({ handler });
  const big = await RawH2Client.connect(server.port);
  const small = await RawH2Client.connect(server.port);
  try {
    // Heads just under the list cap: the held-head cap (128 KiB) refuses all but a few.
    const bigHead = requestFields("POST", "/", [["x-big", "v".repeat(16000)]]);
    await big.send(...Array.from({ length: 20 }, (_, i) => big.headers(1 + 2 * i, bigHead, false)));
    await big.waitFor(isRst(39));
    const bigOpened = opened.length;
    assert.ok(bigOpened >= 7 && bigOpened <= 8, `opened ${bigOpened}`);
    assert.equal(big.rstCode(1 + 2 * bigOpened), H2_ERROR.REFUSED_STREAM);
    const first = server.connections[0];
    assert.ok(first.heldBytes <= bound, `${first.heldBytes} > ${bound}`);
    // Small heads: every concurrent stream opens, the 101st is refused.
    const smallHead = requestFields("POST", "/", [["x-small", "v".repeat(200)]]);
    await small.send(
      ...Array.from({ length: 101 }, (_, i) => small.headers(1 + 2 * i, smallHead, false)),
    );
    await small.waitFor(isRst(201));
    assert.equal(small.rstCode(201), H2_ERROR.REFUSED_STREAM);
    const second = server.connections[1];
    assert.equal(second.openStreamCount, limits.maxConcurrentStreams);
    assert.ok(second.heldBytes <= bound, `${second.heldBytes} > ${bound}`);
  } finally {
    await big.close();
    await small.close();
    await server.close();
  }
});

Deno.test("memory: RSS stays within connections x the formula under a flood of streams and pings", async () => {
  const limits = h2Limits();
  const connections = 20;
  const { handler } = silentHandler();
  const server = await startH2Server({ handler });
  const clients: RawH2Client[] = [];
  try {
    const before = Deno.memoryUsage().rss;
    const head = requestFields("POST", "/", [["x-pad", "p".repeat(1000)]]);
    const ping = encodeFrame(FRAME_TYPE.PING, 0, 0, new Uint8Array(8));
    for (let c = 0; c < connections; c++) {
      const client = await RawH2Client.connect(server.port);
      clients.push(client);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 100; i++) frames.push(client.headers(1 + 2 * i, head, false), ping);
      await client.send(...frames);
    }
    for (const client of clients) {
      await client.waitFor((f) => f.type === FRAME_TYPE.PING && f.flags === FRAME_FLAG.ACK);
    }
    const grown = Deno.memoryUsage().rss - before;
    const allowed = connections * h2ConnectionMemoryBoundBytes(limits) + 64 * 1024 * 1024;
    assert.ok(grown < allowed, `RSS grew ${grown} bytes, allowed ${allowed}`);
    for (const connection of server.connections) {
      assert.ok(connection.heldBytes <= h2ConnectionMemoryBoundBytes(limits));
    }
  } finally {
    for (const client of clients) await client.close();
    await server.close();
  }
});
