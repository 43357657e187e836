import assert from "@std/assert";
import { H3Error } from "./errors.ts";
import type { FieldLine } from "./qpack_static.ts";
import { parseRequestHead, responseFieldLines } from "./request_head.ts";

const BASE: FieldLine[] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "localhost:8443"],
  [":path", "/rpc/system.echo?x=1"],
];

Deno.test("parseRequestHead builds method, URL, headers and content-length", () => {
  const head = parseRequestHead([...BASE, ["content-length", "12"], ["accept", "a"], [
    "accept",
    "b",
  ]]);
  assert.equal(head.method, "POST");
  assert.equal(head.url, "https://localhost:8443/rpc/system.echo?x=1");
  assert.equal(new Headers(head.headers).get("accept"), "a, b");
  assert.equal(head.contentLengthBytes, 12);
  assert.equal(parseRequestHead(BASE).contentLengthBytes, null);
});

Deno.test("parseRequestHead takes the host header when :authority is absent", () => {
  const head = parseRequestHead([...BASE.filter(([n]) => n !== ":authority"), ["host", "h:1"]]);
  assert.equal(head.url, "https://h:1/rpc/system.echo?x=1");
});

Deno.test("parseRequestHead refuses malformed requests with H3_MESSAGE_ERROR (stream scope)", () => {
  const without = (name: string) => BASE.filter(([n]) => n !== name);
  const cases: FieldLine[][] = [
    without(":method"),
    without(":scheme"),
    without(":path"),
    without(":authority"),
    [...BASE, [":path", "/again"]],
    [...BASE, [":status", "200"]],
    [["accept", "x"], ...BASE],
    [...BASE, ["Accept", "x"]],
    [...BASE, ["connection", "close"]],
    [...BASE, ["transfer-encoding", "chunked"]],
    [...BASE, ["upgrade", "h2c"]],
    [...BASE, ["te", "gzip"]],
    [...BASE, ["content-length", "1, 2"]],
    [...BASE, ["content-length", "-1"]],
    [...BASE, ["host", "other"]],
    [[":method", "CONNECT"], [":authority", "x:1"]],
    [...without(":path"), [":path", "relative"]],
    [...BASE, ["bad name", "x"]],
    [...BASE, ["accept", "a\r\nb"]],
  ];
  for (const fields of cases) {
    assert.throws(
      () => parseRequestHead(fields),
      (error: unknown) =>
        error instanceof H3Error && error.codeName === "H3_MESSAGE_ERROR" &&
        error.scope === "stream",
      JSON.stringify(fields),
    );
  }
  // te: trailers is the one allowed value.
  assert.equal(parseRequestHead([...BASE, ["te", "trailers"]]).method, "POST");
});

Deno.test("responseFieldLines puts :status first and drops connection-specific fields", () => {
  const headers = new Headers({ "content-type": "text/plain", "connection": "keep-alive" });
  assert.deepEqual(responseFieldLines(204, headers), [
    [":status", "204"],
    ["content-type", "text/plain"],
  ]);
  assert.throws(() => responseFieldLines(42, headers), RangeError);
});
