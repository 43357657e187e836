import assert from "@std/assert";
import { QPACK_STATIC_TABLE, staticTableLookup } from "./qpack_static.ts";

Deno.test("qpack static table: 99 entries with RFC 9204 Appendix A anchors", () => {
  assert.equal(QPACK_STATIC_TABLE.length, 99);
  assert.deepEqual(QPACK_STATIC_TABLE[0], [":authority", ""]);
  assert.deepEqual(QPACK_STATIC_TABLE[17], [":method", "GET"]);
  assert.deepEqual(QPACK_STATIC_TABLE[46], ["content-type", "application/json"]);
  assert.deepEqual(QPACK_STATIC_TABLE[63], [":status", "100"]);
  assert.deepEqual(QPACK_STATIC_TABLE[98], ["x-frame-options", "sameorigin"]);
  for (const [name] of QPACK_STATIC_TABLE) assert.equal(name, name.toLowerCase());
});

Deno.test("qpack static table: lookups prefer exact matches, then the lowest name index", () => {
  assert.deepEqual(staticTableLookup(":status", "503"), { index: 28, valueMatches: true });
  assert.deepEqual(staticTableLookup(":status", "201"), { index: 24, valueMatches: false });
  assert.deepEqual(staticTableLookup("cache-control", "no-store"), {
    index: 40,
    valueMatches: true,
  });
  assert.equal(staticTableLookup("x-unknown", ""), undefined);
});
