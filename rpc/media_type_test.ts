import assert from "@std/assert";
import { wireKindOf } from "./media_type.ts";

Deno.test("media type: RFC 9110 — case-insensitive type/subtype, parameters allowed", () => {
  assert.equal(wireKindOf("application/json"), "json");
  assert.equal(wireKindOf("application/capnp"), "capnp");
  assert.equal(wireKindOf("APPLICATION/JSON"), "json");
  assert.equal(wireKindOf("Application/Capnp"), "capnp");
  assert.equal(wireKindOf("application/json; charset=utf-8"), "json");
  assert.equal(wireKindOf('application/json;charset="UTF-8"'), "json");
  assert.equal(wireKindOf(' application/json ; a=b ; c="d;e"'), "json");
});

Deno.test("media type: prefixes, other types and malformed values select no wire", () => {
  for (
    const value of [
      null,
      "",
      "application/jsonfoo",
      "application/json-seq",
      "application/capnpx",
      "text/json",
      "application/json;",
      "application/json; charset",
      "application/json; charset=latin1",
      "application/json x",
      "application /json",
      'application/json; a="unterminated',
      "a".repeat(300),
    ]
  ) {
    assert.equal(wireKindOf(value), null, String(value));
  }
});
