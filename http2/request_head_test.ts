import assert from "@std/assert";
import { H2Error } from "./errors.ts";
import { RequestHeadBuilder } from "./request_head.ts";

function build(fields: [string, string][]) {
  const builder = new RequestHeadBuilder();
  builder.reset();
  for (const [name, value] of fields) builder.onField(name, value);
  return builder.build(1);
}

const BASE: [string, string][] = [[":method", "POST"], [":scheme", "https"], [":path", "/rpc/x"]];

Deno.test("request head: pseudo-headers, authority from host, content-length, cookies joined", () => {
  const head = build([...BASE, ["host", "example.com"], ["cookie", "a=1"], ["x", "y"], [
    "cookie",
    "b=2",
  ], ["content-length", "42"]]);
  assert.equal(head.method, "POST");
  assert.equal(head.path, "/rpc/x");
  assert.equal(head.scheme, "https");
  assert.equal(head.authority, "example.com");
  assert.equal(head.contentLengthBytes, 42);
  assert.deepEqual(head.fields, [["host", "example.com"], ["cookie", "a=1; b=2"], ["x", "y"], [
    "content-length",
    "42",
  ]]);
  assert.ok(Object.isFrozen(head) && Object.isFrozen(head.fields));
  const connect = build([[":method", "CONNECT"], [":authority", "example.com:443"]]);
  assert.equal(connect.path, "");
  assert.equal(build([[":method", "OPTIONS"], [":scheme", "https"], [":path", "*"]]).path, "*");
});

Deno.test("request head: malformed requests are stream errors PROTOCOL_ERROR (RFC 9113 §8.2, §8.3)", () => {
  const malformed: [string, [string, string][]][] = [
    ["uppercase name", [...BASE, ["X-Up", "1"]]],
    ["space in name", [...BASE, ["x y", "1"]]],
    ["NUL in value", [...BASE, ["x", "a\u0000b"]]],
    ["CR in value", [...BASE, ["x", "a\rb"]]],
    ["leading space", [...BASE, ["x", " a"]]],
    ["trailing tab", [...BASE, ["x", "a\t"]]],
    ["connection", [...BASE, ["connection", "close"]]],
    ["transfer-encoding", [...BASE, ["transfer-encoding", "chunked"]]],
    ["te gzip", [...BASE, ["te", "gzip"]]],
    ["unknown pseudo", [...BASE, [":foo", "1"]]],
    [":status in request", [...BASE, [":status", "200"]]],
    ["pseudo after regular", [[":method", "GET"], ["x", "1"], [":scheme", "https"], [
      ":path",
      "/",
    ]]],
    ["repeated pseudo", [...BASE, [":path", "/again"]]],
    ["no :method", [[":scheme", "https"], [":path", "/"]]],
    ["no :scheme", [[":method", "GET"], [":path", "/"]]],
    ["no :path", [[":method", "GET"], [":scheme", "https"]]],
    ["empty :path", [[":method", "GET"], [":scheme", "https"], [":path", ""]]],
    ["relative :path", [[":method", "GET"], [":scheme", "https"], [":path", "x"]]],
    ["content-length letters", [...BASE, ["content-length", "1e3"]]],
    ["content-length list", [...BASE, ["content-length", "5, 5"]]],
    ["content-length twice", [...BASE, ["content-length", "5"], ["content-length", "5"]]],
    ["host differs", [...BASE, [":authority", "a"], ["host", "b"]]],
    ["CONNECT with path", [[":method", "CONNECT"], [":authority", "a"], [":path", "/"]]],
  ];
  for (const [what, fields] of malformed) {
    assert.throws(
      () => build(fields),
      (e: unknown) =>
        e instanceof H2Error && e.scope === "stream" && e.codeName === "PROTOCOL_ERROR",
      what,
    );
  }
  assert.equal(build([...BASE, ["te", "trailers"]]).fields.length, 1);
});

Deno.test("request head: trailers may not carry pseudo-headers or invalid fields", () => {
  const builder = new RequestHeadBuilder();
  builder.onField("x-sum", "1");
  builder.checkTrailers(1);
  builder.reset();
  builder.onField(":path", "/");
  assert.throws(() => builder.checkTrailers(1), H2Error);
});
