import assert from "@std/assert";
import {
  findHeadEnd,
  HEADER_COUNT_MAX,
  HeadError,
  METHOD_CODES,
  parseHead,
  RequestHead,
  skipEmptyLines,
} from "./head.ts";

const encoder = new TextEncoder();

/** Parses `text` as one complete head; returns the head. */
function parse(text: string): RequestHead {
  const bytes = encoder.encode(text);
  const headEnd = findHeadEnd(bytes, 0, { end: bytes.length });
  assert.ok(headEnd > 0, "a complete head");
  const head = new RequestHead();
  parseHead(bytes, 0, { headEnd, head });
  return head;
}

/** Asserts that `text` is refused with `status`. */
function refused(text: string, status: number, what: string): void {
  assert.throws(() => parse(text), (error: unknown) => {
    if (!(error instanceof HeadError)) return false;
    assert.equal(error.status, status, `${what}: ${error.message}`);
    return true;
  });
}

Deno.test("head: a POST with the call's headers read as values", () => {
  const text = "POST /rpc/system.echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
    "Content-Type: application/capnp\r\nCONTENT-LENGTH: 12\r\nAuthorization: Bearer t\r\n" +
    "Rpc-Timeout-Ms: 250\r\nX-Other:  spaced value \t\r\n\r\n";
  const head = parse(text);
  assert.equal(head.methodCode, METHOD_CODES.post);
  assert.equal(text.slice(head.targetStart, head.targetEnd), "/rpc/system.echo?x=1");
  assert.equal(head.versionMinor, 1);
  assert.equal(head.host, "127.0.0.1:8080");
  assert.equal(head.contentType, "application/capnp");
  assert.equal(head.contentLength, 12);
  assert.equal(head.authorization, "Bearer t");
  assert.equal(head.rpcTimeoutMs, "250");
  assert.equal(head.headerCount, 6);
  const f = 5 * 4;
  assert.equal(text.slice(head.fields[f], head.fields[f + 1]), "X-Other");
  assert.equal(text.slice(head.fields[f + 2], head.fields[f + 3]), "spaced value");
  assert.equal(head.keepAlive, true);
  assert.equal(head.headEnd, encoder.encode(text).length);
});

Deno.test("head: keep-alive rules of 1.1 and 1.0, Connection tokens, Expect, chunked", () => {
  assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive, true);
  assert.equal(
    parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n").keepAlive,
    false,
  );
  const head = parse(
    "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nTransfer-Encoding: Chunked\r\n\r\n",
  );
  assert.equal(head.expectContinue, true);
  assert.equal(head.chunked, true);
  assert.equal(head.contentLength, -1);
  assert.equal(parse("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").methodCode, METHOD_CODES.head);
  assert.equal(parse("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n").methodCode, METHOD_CODES.other);
});

Deno.test("head: malformed request lines are 400, other versions 505", () => {
  refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two spaces");
  refused("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "absolute-form");
  refused("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk-form");
  refused("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "non-token method");
  refused(`${"A".repeat(33)} / HTTP/1.1\r\nHost: a\r\n\r\n`, 400, "long method");
  refused("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control byte in target");
  refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "trailing space");
  refused("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400, "not HTTP");
  refused("GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "short version");
  refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0");
  refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "HTTP/1.2");
});

Deno.test("head: header-line rejections", () => {
  refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before the colon");
  refused("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400, "obs-fold");
  refused("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", 400, "no colon");
  refused("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400, "empty name");
  refused("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n", 400, "NUL in a value");
  refused("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n", 400, "bare CR in a value");
  refused("GET / HTTP/1.1\r\n\r\n", 400, "no Host in 1.1");
  refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts");
  refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417, "unknown expectation");
});

Deno.test("head: smuggling defences", () => {
  const base = "POST /rpc/x HTTP/1.1\r\nHost: a\r\n";
  refused(`${base}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, "TE + CL");
  refused(`${base}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`, 400, "CL + TE");
  refused(`${base}Content-Length: 3\r\nContent-Length: 3\r\n\r\n`, 400, "two equal CLs");
  refused(`${base}Content-Length: 3, 3\r\n\r\n`, 400, "a CL list");
  refused(`${base}Content-Length: +3\r\n\r\n`, 400, "a signed CL");
  refused(`${base}Content-Length: \r\n\r\n`, 400, "an empty CL");
  refused(`${base}Content-Length: 1234567890123456\r\n\r\n`, 400, "a 16-digit CL");
  refused(`${base}Transfer-Encoding: gzip, chunked\r\n\r\n`, 501, "gzip, chunked");
  refused(`${base}Transfer-Encoding: identity\r\n\r\n`, 501, "identity");
  refused(`${base}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, "TE x2");
  refused(
    "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "Transfer-Encoding in 1.0",
  );
});

Deno.test("head: at most HEADER_COUNT_MAX header lines (431 beyond)", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join("");
  const ok = parse(`GET / HTTP/1.1\r\nHost: a\r\n${lines(HEADER_COUNT_MAX - 1)}\r\n`);
  assert.equal(ok.headerCount, HEADER_COUNT_MAX);
  refused(`GET / HTTP/1.1\r\nHost: a\r\n${lines(HEADER_COUNT_MAX)}\r\n`, 431, "101 lines");
});

Deno.test("head: findHeadEnd waits for the empty line, refuses bare LF, resumes a scan", () => {
  const text = encoder.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
  assert.equal(findHeadEnd(text, 0, { end: 20 }), -1, "incomplete");
  assert.equal(findHeadEnd(text, 0, { end: text.length, scanFrom: 17 }), 27);
  assert.equal(findHeadEnd(text, 0, { end: text.length }), 27, "pipelined bytes stay unread");
  assert.throws(
    () => findHeadEnd(encoder.encode("GET / HTTP/1.1\nHost: a\n\n"), 0, { end: 24 }),
    HeadError,
  );
});

Deno.test("head: pipelined heads parse one after another from the same buffer", () => {
  const bytes = encoder.encode(
    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: b\r\n\r\n",
  );
  const head = new RequestHead();
  const first = findHeadEnd(bytes, 0, { end: bytes.length });
  parseHead(bytes, 0, { headEnd: first, head });
  assert.equal(head.contentLength, 2);
  const next = first + head.contentLength;
  const second = findHeadEnd(bytes, next, { end: bytes.length });
  parseHead(bytes, next, { headEnd: second, head });
  assert.equal(head.methodCode, METHOD_CODES.get);
  assert.equal(head.host, "b");
  assert.equal(head.contentLength, -1, "reset between requests");
  assert.equal(second, bytes.length);
});

Deno.test("head: up to four empty lines before a request line are skipped", () => {
  const bytes = encoder.encode("\r\n\r\nGET / HTTP/1.1\r\n");
  assert.equal(skipEmptyLines(bytes, 0, bytes.length), 4);
  const many = encoder.encode("\r\n".repeat(6) + "GET");
  assert.equal(skipEmptyLines(many, 0, many.length), 8);
});

Deno.test("head: random mutations of a valid head either parse or throw HeadError", () => {
  const valid = encoder.encode(
    "POST /rpc/system.echo HTTP/1.1\r\nHost: a:1\r\nContent-Type: application/json\r\n" +
      "Content-Length: 12\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
  );
  // A fixed-seed xorshift, so a failure is reproducible.
  let seed = 20261127;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const interesting = [0, 9, 10, 13, 32, 44, 58, 0x7f, 0x80, 0xff, 0x30, 0x41];
  const head = new RequestHead();
  for (let round = 0; round < 20_000; round++) {
    const bytes = valid.slice();
    for (let m = 0; m < 1 + Math.floor(next() * 3); m++) {
      const i = Math.floor(next() * bytes.length);
      bytes[i] = interesting[Math.floor(next() * interesting.length)];
    }
    try {
      const headEnd = findHeadEnd(bytes, 0, { end: bytes.length });
      if (headEnd > 0) parseHead(bytes, 0, { headEnd, head });
    } catch (error) {
      if (!(error instanceof HeadError)) throw error;
    }
  }
});

Deno.test("head: the fields of browsers and caches; list fields joined, singletons counted", () => {
  const head = parse(
    "GET /rpc/worknode.get?message=e30 HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n" +
      'If-None-Match: W/"j.1"\r\nif-none-match: "x"\r\nAccept-Encoding: gzip\r\n' +
      "ACCEPT-ENCODING: zstd\r\nContent-Encoding: gzip\r\n" +
      "Access-Control-Request-Method: POST\r\n\r\n",
  );
  assert.equal(head.methodCode, METHOD_CODES.get);
  assert.equal(head.origin, "https://app.example");
  assert.equal(head.originCount, 1);
  assert.equal(head.ifNoneMatch, 'W/"j.1", "x"');
  assert.equal(head.acceptEncoding, "gzip, zstd");
  assert.equal(head.contentEncoding, "gzip");
  assert.equal(head.contentEncodingCount, 1);
  assert.equal(head.preflightMethod, "POST");
  // The next request on the connection starts clean.
  const bytes = encoder.encode("POST /rpc/x HTTP/1.1\r\nHost: a\r\n\r\n");
  parseHead(bytes, 0, { headEnd: bytes.length, head });
  assert.deepEqual(
    [head.origin, head.ifNoneMatch, head.acceptEncoding, head.contentEncoding, head.originCount],
    [null, null, null, null, 0],
  );
});
