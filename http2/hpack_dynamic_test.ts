import assert from "@std/assert";
import { DynamicTable } from "./hpack_dynamic.ts";

Deno.test("hpack table: newest first, evicts oldest, an oversized entry empties it", () => {
  const table = new DynamicTable(100);
  table.insert("a", "1".repeat(20)); // 53
  table.insert("b", "2".repeat(10)); // 43
  assert.equal(table.count, 2);
  assert.equal(table.name(1), "b");
  assert.equal(table.name(2), "a");
  table.insert("c", ""); // 33: evicts a
  assert.deepEqual([table.count, table.sizeBytes, table.name(2)], [2, 76, "b"]);
  const epoch = table.epoch;
  table.insert("d", "x".repeat(100));
  assert.deepEqual([table.count, table.sizeBytes], [0, 0]);
  assert.ok(table.epoch > epoch);
  for (let i = 0; i < 50; i++) table.insert("k", String(i)); // the ring wraps
  assert.equal(table.value(1), "49");
  assert.equal(table.count, 2);
  table.setMaxSize(40);
  assert.equal(table.count, 1);
  assert.throws(() => table.setMaxSize(101), RangeError);
  assert.equal(table.findExact("k", "49"), 1);
});
