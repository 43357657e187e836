import assert from "@std/assert";
import { decodeFieldSection, encodeFieldSection, encodeFieldSectionPrefix } from "./qpack.ts";
import { parseRequestHead, type RequestHead } from "./request_head.ts";
import { SectionCache } from "./section_cache.ts";

const LINES: [string, string][] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":authority", "localhost:8443"],
  [":path", "/rpc/system.echo"],
  ["content-length", "12"],
];

Deno.test("SectionCache: a static-only section's head is returned for the same bytes only", () => {
  const cache = new SectionCache<RequestHead>();
  const section = encodeFieldSection(LINES);
  assert.equal(cache.lookup(section), undefined);
  const head = parseRequestHead(decodeFieldSection(section).fields);
  cache.store(section, head);
  assert.equal(cache.lookup(section.slice()), head, "equal bytes in another buffer hit");
  const other = encodeFieldSection([...LINES.slice(0, 4), ["content-length", "13"]]);
  assert.equal(cache.lookup(other), undefined, "one byte apart misses");
  // The cache keeps a copy: the stored bytes' memory may be reused by the next read.
  const reused = section.slice();
  cache.store(reused, head);
  reused.fill(0);
  assert.equal(cache.lookup(section), head, "a stored section outlives its buffer's reuse");
});

Deno.test("SectionCache: sections that use the dynamic table or are long are never cached", () => {
  const cache = new SectionCache<RequestHead>();
  const head = parseRequestHead(LINES);
  // Required Insert Count 1 (the prefix's first byte is not 0): decoding depends on the table.
  const dynamic = new Uint8Array([
    ...encodeFieldSectionPrefix({ requiredInsertCount: 1, base: 1, maxTableCapacity: 4096 }),
    0x80,
  ]);
  cache.store(dynamic, head);
  assert.equal(cache.lookup(dynamic), undefined);
  const long = encodeFieldSection([...LINES, ["authorization", `Bearer ${"x".repeat(2000)}`]]);
  cache.store(long, head);
  assert.equal(cache.lookup(long), undefined);
});
