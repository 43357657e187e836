/**
 * The direct RPC route of the HTTP/3 server (http3/rpc_route.ts) through the real service: real
 * QUIC sockets, the real pool. Binary and JSON echo, trailers, and the early answers that must
 * come before any DATA is read or any block taken (unknown method 501, too large 413, missing
 * token 401), a declared length that the body does not match (400), bodies past the limits
 * (413), a stalled body, a deadline passing during the body read (504). Every test ends with the
 * pool back to 0 blocks in use (`t.close()` asserts it).
 */

import assert from "@std/assert";
import { readResponse, readResult } from "../rpc/envelope.ts";
import { encodeDataFrame, encodeHeadersFrame, FrameParser } from "../http3/frame.ts";
import { decodeFieldSection } from "../http3/qpack.ts";
import { encodeFieldSection } from "../http3/qpack.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { SystemEchoParamsCodec, SystemEchoResultCodec } from "../schema/system_capnp.ts";
import { requestFrame } from "./_frames.ts";
import { eventually, h3EchoPostHead, type H3TestService, startH3Service } from "./_h3_service.ts";
import { allocTotal } from "./_rpc_harness.ts";

/** A response read off a raw request stream. */
interface RawResponse {
  readonly fields: Map<string, string>;
  readonly body: Uint8Array;
}

/** Reads a raw response stream to its end: HEADERS decoded, DATA joined. */
async function readRawResponse(readable: ReadableStream<Uint8Array>): Promise<RawResponse> {
  const parser = new FrameParser({ streamKind: "request", role: "client" });
  const fields = new Map<string, string>();
  const pieces: number[] = [];
  for await (const chunk of readable) {
    parser.push(chunk);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
      if (frame.type === "headers") {
        for (const [name, value] of decodeFieldSection(frame.fieldSection).fields) {
          fields.set(name, value);
        }
      } else if (frame.type === "data") pieces.push(...frame.bytes);
    }
  }
  parser.finish();
  return { fields, body: new Uint8Array(pieces) };
}

/** Opens a request stream and writes `bytes`; `fin` ends our side. */
async function rawRequest(t: H3TestService, conn: Deno.QuicConn, bytes: Uint8Array, fin: boolean) {
  const stream = await conn.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  await writer.write(bytes);
  if (fin) await writer.close();
  assert.ok(t.port > 0);
  return { response: readRawResponse(stream.readable), writer };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((part) => [...part]));
}

function postHead(t: H3TestService, path: string, extra: [string, string][]): Uint8Array {
  return encodeHeadersFrame(encodeFieldSection([
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", `localhost:${t.port}`],
    [":path", path],
    ...extra,
  ]));
}

function errorCode(response: RawResponse): string {
  return JSON.parse(new TextDecoder().decode(response.body)).error.code;
}

Deno.test("h3 rpc route: JSON and binary echo, a query string, trailers without a length", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const json = await client.fetch(`${t.origin}/rpc/system.echo?trace=1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: btoa("over h3") }),
    });
    assert.equal(json.status, 200);
    assert.equal(json.headers.get("content-type"), "application/json");
    assert.equal(atob((await json.json()).payload), "over h3");

    const payload = new Uint8Array([0, 1, 2, 0xff, 0x80, 7]);
    const frame = requestFrame("system.echo", SystemEchoParamsCodec, { payload }, 42);
    const binary = await client.fetch(`${t.origin}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/capnp" },
      body: frame,
    });
    assert.equal(binary.status, 200);
    assert.equal(binary.headers.get("content-type"), "application/capnp");
    const envelope = readResponse(new Uint8Array(await binary.arrayBuffer()));
    assert.equal(envelope.requestId, 42);
    assert.deepEqual(readResult(envelope, SystemEchoResultCodec).payload, payload);

    // No content-length: the body ends at FIN, after a trailers section (decoded, not used).
    const body = new TextEncoder().encode(JSON.stringify({ payload: btoa("trailed") }));
    const trailers = encodeHeadersFrame(encodeFieldSection([["x-checksum", "abc"]]));
    const head = postHead(t, "/rpc/system.echo", [["content-type", "application/json"]]);
    const { response } = await rawRequest(
      t,
      client.connection,
      concat(
        head,
        encodeDataFrame(body.subarray(0, 5)),
        encodeDataFrame(body.subarray(5)),
        trailers,
      ),
      true,
    );
    const trailed = await response;
    assert.equal(trailed.fields.get(":status"), "200");
    assert.equal(trailed.fields.get("content-length"), String(trailed.body.length));
    assert.equal(atob(JSON.parse(new TextDecoder().decode(trailed.body)).payload), "trailed");
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: unknown method and too large are answered before any DATA or block", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const before = allocTotal(t.pool);
    // Declares a large body and sends a little of it without FIN: an answer can only come
    // without waiting for the rest.
    const unknown = await rawRequest(
      t,
      client.connection,
      concat(
        postHead(t, "/rpc/system.nope", [
          ["content-type", "application/json"],
          ["content-length", "50000"],
        ]),
        encodeDataFrame(new Uint8Array(100)),
      ),
      false,
    );
    const notFound = await unknown.response;
    assert.equal(notFound.fields.get(":status"), "501");
    assert.equal(errorCode(notFound), "unimplemented");
    // The declared size is over system.echo's limit (the largest block, 64 KiB): no DATA sent.
    const large = await rawRequest(
      t,
      client.connection,
      postHead(t, "/rpc/system.echo", [
        ["content-type", "application/json"],
        ["content-length", "10000000"],
      ]),
      false,
    );
    const tooLarge = await large.response;
    assert.equal(tooLarge.fields.get(":status"), "413");
    assert.equal(errorCode(tooLarge), "resource_exhausted");
    assert.equal(allocTotal(t.pool), before, "no early answer took a block");
    await unknown.writer.close().catch(() => {});
    await large.writer.close().catch(() => {});
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: a body without a length past the method's limit is 413", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    // system.echo's limit here is the largest block, 64 KiB: 70,000 bytes in 5 DATA frames.
    const head = postHead(t, "/rpc/system.echo", [["content-type", "application/json"]]);
    const piece = encodeDataFrame(new Uint8Array(14_000).fill(0x20));
    const { response } = await rawRequest(
      t,
      client.connection,
      concat(head, piece, piece, piece, piece, piece),
      true,
    );
    const answer = await response;
    assert.equal(answer.fields.get(":status"), "413");
    assert.equal(errorCode(answer), "resource_exhausted");
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: a body shorter or longer than its content-length is 400", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    for (const [declared, sent] of [[50, 20], [10, 20]]) {
      const { response } = await rawRequest(
        t,
        client.connection,
        concat(
          encodeHeadersFrame(encodeFieldSection(h3EchoPostHead(t.port, declared))),
          encodeDataFrame(new TextEncoder().encode("{".padEnd(sent, " "))),
        ),
        true,
      );
      const answer = await response;
      assert.equal(answer.fields.get(":status"), "400", `declared ${declared}, sent ${sent}`);
      assert.equal(errorCode(answer), "invalid_argument");
      assert.match(new TextDecoder().decode(answer.body), /Content-Length said/);
    }
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: a stalled body without a length is 408 after the core's stall timeout", async () => {
  const t = await startH3Service({}, { coreLimits: { bodyStallTimeoutMs: 1000 } });
  const client = await t.connect();
  try {
    const head = postHead(t, "/rpc/system.echo", [["content-type", "application/json"]]);
    const { response, writer } = await rawRequest(
      t,
      client.connection,
      concat(head, encodeDataFrame(new TextEncoder().encode('{"payload":"'))),
      false,
    );
    await eventually(() => t.pool.inUseCount() === 1);
    await eventually(() => t.pool.inUseCount() === 0);
    // The core's body stall rule, the same on every transport: 408, the block released.
    const answer = await response;
    assert.equal(answer.fields.get(":status"), "408");
    assert.equal(errorCode(answer), "deadline_exceeded");
    await writer.close().catch(() => {});
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: a deadline that passes while the body is read is 504", async () => {
  const t = await startH3Service();
  const client = await t.connect();
  try {
    const head = postHead(t, "/rpc/system.echo", [
      ["content-type", "application/json"],
      ["content-length", "100"],
      ["rpc-timeout-ms", "300"],
    ]);
    const { response, writer } = await rawRequest(
      t,
      client.connection,
      concat(head, encodeDataFrame(new TextEncoder().encode('{"payload":"'))),
      false,
    );
    const answer = await response;
    assert.equal(answer.fields.get(":status"), "504");
    assert.equal(errorCode(answer), "deadline_exceeded");
    assert.equal(t.pool.inUseCount(), 0);
    await writer.close().catch(() => {});
  } finally {
    await client.close();
    await t.close();
  }
});

Deno.test("h3 rpc route: a missing or bad token is 401 before the body is read", async () => {
  const auth = new Authenticator([
    { name: "ci", scope: "write" as const, sha256: hashToken("write-secret") },
  ]);
  const t = await startH3Service({}, { auth });
  const client = await t.connect();
  try {
    const before = allocTotal(t.pool);
    for (const token of [null, "wrong"]) {
      const extra: [string, string][] = [
        ["content-type", "application/json"],
        ["content-length", "3000"],
      ];
      if (token !== null) extra.push(["authorization", `Bearer ${token}`]);
      const { response, writer } = await rawRequest(
        t,
        client.connection,
        postHead(t, "/rpc/system.echo", extra),
        false,
      );
      const denied = await response;
      assert.equal(denied.fields.get(":status"), "401");
      assert.equal(errorCode(denied), "unauthenticated");
      await writer.close().catch(() => {});
    }
    assert.equal(allocTotal(t.pool), before, "no rejected call took a block");
    const allowed = await client.fetch(`${t.origin}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer write-secret" },
      body: JSON.stringify({ payload: btoa("ok") }),
    });
    assert.equal(allowed.status, 200);
    assert.equal(atob((await allowed.json()).payload), "ok");
  } finally {
    await client.close();
    await t.close();
  }
});
