import assert from "@std/assert";
import { hashBytesHex, hashTextHex, ifNoneMatchHits, weakTag } from "./etag.ts";

Deno.test("etag: tags are weak, name the wire, and hash to 16 hex digits", () => {
  assert.equal(weakTag("json", "wn.3.00ff"), 'W/"j.wn.3.00ff"');
  assert.equal(weakTag("capnp", "x"), 'W/"c.x"');
  const a = hashBytesHex(new TextEncoder().encode("version 1"));
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, hashBytesHex(new TextEncoder().encode("version 2")));
  assert.equal(hashTextHex("wn-1"), hashTextHex("wn-1"));
  assert.notEqual(hashTextHex("wn-1"), hashTextHex("wn-2"));
  // One changed byte anywhere changes the hash.
  const bytes = new Uint8Array(1000);
  const base = hashBytesHex(bytes);
  for (let i = 0; i < bytes.length; i += 97) {
    bytes[i] = 1;
    assert.notEqual(hashBytesHex(bytes), base, `byte ${i}`);
    bytes[i] = 0;
  }
});

Deno.test("etag: If-None-Match compares weakly, takes lists and *, refuses junk", () => {
  const tag = 'W/"j.wn.3.00ff"';
  assert.equal(ifNoneMatchHits(tag, tag), true);
  assert.equal(ifNoneMatchHits('"j.wn.3.00ff"', tag), true, "strong form, weak comparison");
  assert.equal(ifNoneMatchHits('"a", W/"b",W/"j.wn.3.00ff"', tag), true);
  assert.equal(ifNoneMatchHits("*", tag), true);
  assert.equal(ifNoneMatchHits('W/"j.wn.4.00ff"', tag), false);
  assert.equal(ifNoneMatchHits(null, tag), false);
  assert.equal(ifNoneMatchHits("j.wn.3.00ff", tag), false, "unquoted");
  assert.equal(ifNoneMatchHits('"unterminated', tag), false);
  assert.equal(ifNoneMatchHits('"x", '.repeat(1000) + tag, tag), false, "over-long or too many");
});
