import assert from "@std/assert";
import {
  HEAD_CLOSE,
  HEAD_KEEP_ALIVE,
  HEAD_PLAIN,
  latin1Bytes,
  ResponseEncoder,
} from "./response.ts";

const decoder = new TextDecoder();
const DATE = /^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/;

/** The head's lines (without the final empty line). */
function lines(bytes: Uint8Array): string[] {
  const text = decoder.decode(bytes);
  assert.ok(text.endsWith("\r\n\r\n"), JSON.stringify(text));
  return text.slice(0, -4).split("\r\n");
}

Deno.test("response: an RPC answer head with length, retry-after, extra headers, date", () => {
  const encoder = new ResponseEncoder([["alt-svc", 'h3=":8443"; ma=86400']]);
  const out = new Uint8Array(1024);
  const answer = {
    status: 503,
    contentType: "application/json",
    fields: [["retry-after", "1"]] as const,
    body: new Uint8Array(1234),
  };
  const head = lines(out.subarray(0, encoder.encodeCallHead(out, answer, HEAD_CLOSE)));
  assert.equal(head[0], "HTTP/1.1 503 Service Unavailable");
  assert.equal(head[1], "content-type: application/json");
  assert.equal(head[2], "content-length: 1234");
  assert.equal(head[3], "retry-after: 1");
  assert.equal(head[4], 'alt-svc: h3=":8443"; ma=86400');
  assert.match(head[5], DATE);
  assert.equal(head[6], "connection: close");
  assert.equal(head.length, 7);
});

Deno.test("response: connection header per mode; 0 and multi-digit lengths", () => {
  const encoder = new ResponseEncoder([]);
  const out = new Uint8Array(1024);
  for (const [length, text] of [[0, "0"], [7, "7"], [10, "10"], [65536, "65536"]] as const) {
    const answer = {
      status: 200,
      contentType: "application/capnp",
      fields: [],
      body: new Uint8Array(length),
    };
    const plain = lines(out.subarray(0, encoder.encodeCallHead(out, answer, HEAD_PLAIN)));
    assert.deepEqual(plain.slice(0, 3), [
      "HTTP/1.1 200 OK",
      "content-type: application/capnp",
      `content-length: ${text}`,
    ]);
    assert.equal(plain.length, 4, "no connection header on a kept 1.1 connection");
  }
  const kept = encoder.encodeHead(204, [], HEAD_KEEP_ALIVE);
  assert.deepEqual(lines(kept).filter((l) => !DATE.test(l)), [
    "HTTP/1.1 204 No Content",
    "connection: keep-alive",
  ]);
});

Deno.test("response: the date line follows the clock, once per second", () => {
  const encoder = new ResponseEncoder([], () => Date.UTC(2026, 10, 27, 0, 0, 1, 500));
  const head = lines(encoder.encodeHead(200, [["x-a", "1"]], HEAD_PLAIN));
  assert.deepEqual(head, ["HTTP/1.1 200 OK", "x-a: 1", "date: Fri, 27 Nov 2026 00:00:01 GMT"]);
});

Deno.test("response: wholeAnswer is a whole answer that closes; odd statuses get a phrase", () => {
  const encoder = new ResponseEncoder([]);
  let released = 0;
  const answer = {
    status: 431,
    contentType: "application/json",
    fields: [],
    body: latin1Bytes("too big"),
    release: () => released++,
  };
  const text = decoder.decode(encoder.wholeAnswer(answer, HEAD_CLOSE));
  assert.ok(text.startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  assert.match(text, /\r\ncontent-length: 7\r\n/);
  assert.match(text, /\r\nconnection: close\r\n\r\ntoo big$/);
  assert.equal(released, 1);
  assert.equal(decoder.decode(encoder.statusLine(299)), "HTTP/1.1 299 Status\r\n");
  assert.throws(() => encoder.statusLine(1000), RangeError);
});
