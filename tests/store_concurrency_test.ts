/**
 * Optimistic concurrency on both stores: 50 updates carrying the same expectedVersion, sent at
 * once from two child processes that each hold their own store handle (a real race across
 * handles and connections) -> exactly one succeeds, 49 are `aborted`.
 */

import assert from "@std/assert";
import { openFreshStore, STORE_KINDS } from "./store_harness.ts";
import { StoreChild } from "./store_child.ts";

const UPDATE_COUNT = 50;
const CHILD_COUNT = 2;

for (const kind of STORE_KINDS) {
  Deno.test(`store ${kind}: 50 concurrent updates of one version -> 1 ok, 49 aborted`, async () => {
    const fresh = await openFreshStore(kind);
    try {
      const { id } = await fresh.store.create({ kind: "race", properties: [] });
      const children = Array.from(
        { length: CHILD_COUNT },
        () => new StoreChild(fresh.spec, { concurrent: true }),
      );
      await Promise.all(children.map((child) => child.ready()));
      const updates = Array.from({ length: UPDATE_COUNT }, (_, seq) => ({
        seq,
        op: "update",
        input: { id, expectedVersion: 1, set: [{ key: "winner", value: String(seq) }], remove: [] },
      }));
      // Every child gets its share in one write, so both start working at the same moment.
      await Promise.all(
        children.map((child, c) => child.send(updates.filter((u) => u.seq % CHILD_COUNT === c))),
      );
      const statuses = await Promise.all(children.map((child) => child.finish()));
      for (const status of statuses) assert.equal(status.code, 0);
      const replies = children.flatMap((child) => child.replies);
      assert.equal(replies.length, UPDATE_COUNT);
      const winners = replies.filter((reply) => reply.ok);
      assert.equal(winners.length, 1, JSON.stringify(winners));
      assert.deepEqual(winners[0].result, { version: 2 });
      const codes = replies.filter((reply) => !reply.ok).map((reply) => reply.code);
      assert.deepEqual(codes, Array(UPDATE_COUNT - 1).fill("aborted"));
      const worknode = await fresh.store.get(id);
      assert.equal(worknode.version, 2);
      assert.deepEqual(worknode.properties, [{ key: "winner", value: String(winners[0].seq) }]);
    } finally {
      await fresh.cleanup();
    }
  });
}
