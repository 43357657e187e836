import assert from "@std/assert";
import { ConnectionTable } from "./connection_table.ts";

class Entry {
  destroyed = false;
  constructor(public idle: boolean) {}
  destroy(): void {
    this.destroyed = true;
  }
}

Deno.test("connection table: at the cap the longest-waiting idle connection makes room", () => {
  const table = new ConnectionTable<Entry>({ connectionCountMax: 3, connectionsPerAddressMax: 3 });
  const [busy, idleOld, idleNew] = [new Entry(false), new Entry(true), new Entry(true)];
  for (const [entry, address] of [[busy, "a"], [idleOld, "b"], [idleNew, "c"]] as const) {
    assert.equal(table.admit(address), "admitted");
    table.add(entry, address);
  }
  assert.equal(table.admit("d"), "evicted");
  assert.equal(idleOld.destroyed, true, "the oldest idle one");
  assert.equal(idleNew.destroyed, false);
  assert.equal(busy.destroyed, false, "a connection with a request in flight is never evicted");
  table.add(new Entry(false), "d");
  table.remove(idleNew);
  table.add(new Entry(false), "e");
  assert.equal(table.admit("f"), "refused", "none idle: the newcomer is refused");
  assert.deepEqual([table.evictedCount, table.refusedCount, table.size], [1, 1, 3]);
});

Deno.test("connection table: one address is capped on its own, evicting its own idle ones", () => {
  const table = new ConnectionTable<Entry>({ connectionCountMax: 10, connectionsPerAddressMax: 2 });
  const other = new Entry(true);
  table.add(other, "10.0.0.2");
  const mine = [new Entry(false), new Entry(true)];
  for (const entry of mine) table.add(entry, "10.0.0.1");
  assert.equal(table.admit("10.0.0.1"), "evicted");
  assert.equal(mine[1].destroyed, true);
  assert.equal(other.destroyed, false, "another address's idle connection is left alone");
  assert.equal(table.countOf("10.0.0.1"), 1);
  table.add(new Entry(false), "10.0.0.1");
  assert.equal(table.admit("10.0.0.1"), "refused");
  assert.equal(table.admit("10.0.0.3"), "admitted");
  table.remove(other);
  table.remove(other);
  assert.equal(table.countOf("10.0.0.2"), 0);
  assert.throws(
    () => new ConnectionTable<Entry>({ connectionCountMax: 0, connectionsPerAddressMax: 1 }),
    RangeError,
  );
});
