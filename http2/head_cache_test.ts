import assert from "@std/assert";
import { HEAD_CACHE_BLOCK_BYTES_MAX, HEAD_CACHE_ENTRY_COUNT_MAX, HeadCache } from "./head_cache.ts";

Deno.test("head cache: a block is found by its bytes, valid at its epoch or at any", () => {
  const cache = new HeadCache<string>();
  const buf = new Uint8Array([9, 0x82, 0x86, 0xbe, 9]);
  cache.store(buf, 1, 4, 7, "dynamic", 10);
  assert.equal(cache.lookup(new Uint8Array([0x82, 0x86, 0xbe]), 0, 3, 7), "dynamic");
  assert.equal(cache.lookup(buf, 1, 4, 8), undefined, "the table changed");
  cache.store(buf, 1, 3, -1, "static", 10);
  assert.equal(cache.lookup(buf, 1, 3, 1234), "static");
  assert.equal(cache.lookup(buf, 1, 2, 1234), undefined);
  buf[1] = 0x83;
  assert.equal(cache.lookup(buf, 1, 4, 7), undefined, "the stored block is a copy");
});

Deno.test("head cache: bounded in entries and bytes", () => {
  const cache = new HeadCache<number>();
  const big = new Uint8Array(HEAD_CACHE_BLOCK_BYTES_MAX + 1);
  cache.store(big, 0, big.length, -1, 1, 1);
  assert.equal(cache.lookup(big, 0, big.length, 0), undefined);
  for (let i = 0; i < HEAD_CACHE_ENTRY_COUNT_MAX * 3; i++) {
    cache.store(new Uint8Array([i, i >> 8]), 0, 2, -1, i, 100);
  }
  assert.ok(cache.bytes <= HEAD_CACHE_ENTRY_COUNT_MAX * 102);
  cache.store(new Uint8Array([1]), 0, 1, -1, 1, 1 << 20);
  assert.equal(cache.lookup(new Uint8Array([1]), 0, 1, 0), undefined, "large heads are not kept");
});
