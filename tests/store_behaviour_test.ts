/**
 * One behaviour suite, run against both stores: every case opens a fresh store of each kind.
 */

import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import type { SqliteStore, Store } from "../store/mod.ts";
import type { PostgresStore } from "../store/postgres.ts";
import { openFreshStore, STORE_KINDS } from "./store_harness.ts";

type Case = (store: Store) => Promise<void>;

/** Asserts that `promise` rejects with an RpcError of `code`, and returns it. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RpcError)) throw new Error(`expected RpcError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  throw new assert.AssertionError({ message: `expected rejection with ${code}` });
}

const props = (...pairs: [string, string][]) => pairs.map(([key, value]) => ({ key, value }));

const CASES: Record<string, Case> = {
  "create then get returns every property sorted, version 1": async (store) => {
    const before = Date.now();
    const { id, version } = await store.create({
      kind: "sensor",
      properties: props(["z", "last"], ["a", "first"], ["ü", "ünïcode"]),
    });
    assert.equal(version, 1);
    assert.match(id, /^[0-9a-f]{32}$/);
    const worknode = await store.get(id);
    assert.equal(worknode.id, id);
    assert.equal(worknode.kind, "sensor");
    assert.equal(worknode.version, 1);
    assert.deepEqual(worknode.properties, props(["a", "first"], ["z", "last"], ["ü", "ünïcode"]));
    assert.ok(worknode.createdAtMs >= before && worknode.createdAtMs <= Date.now());
    assert.equal(worknode.updatedAtMs, worknode.createdAtMs);
  },
  "create with a given id; a duplicate id is already_exists": async (store) => {
    assert.deepEqual(await store.create({ kind: "k", properties: [], id: "w-1" }), {
      id: "w-1",
      version: 1,
    });
    await rejectsWith(
      store.create({ kind: "k", properties: props(["a", "1"]), id: "w-1" }),
      "already_exists",
    );
    assert.deepEqual((await store.get("w-1")).properties, []);
  },
  "get of a missing id is not_found": async (store) => {
    const error = await rejectsWith(store.get("nope"), "not_found");
    assert.equal(error.httpStatus, 404);
  },
  "update sets, replaces and removes keys and bumps the version": async (store) => {
    const { id } = await store.create({ kind: "k", properties: props(["a", "1"], ["b", "2"]) });
    const { version } = await store.update({
      id,
      expectedVersion: 1,
      set: props(["b", "20"], ["c", "3"]),
      remove: ["a", "absent"],
    });
    assert.equal(version, 2);
    const worknode = await store.get(id);
    assert.deepEqual(worknode.properties, props(["b", "20"], ["c", "3"]));
    assert.equal(worknode.version, 2);
    assert.ok(worknode.updatedAtMs >= worknode.createdAtMs);
  },
  "a stale expectedVersion is aborted with the current version; nothing changes": async (store) => {
    const { id } = await store.create({ kind: "k", properties: props(["a", "1"]) });
    await store.update({ id, expectedVersion: 1, set: props(["a", "2"]), remove: [] });
    const error = await rejectsWith(
      store.update({ id, expectedVersion: 1, set: props(["a", "3"]), remove: [] }),
      "aborted",
    );
    assert.equal(error.httpStatus, 409);
    assert.equal(error.details?.currentVersion, 2);
    assert.deepEqual((await store.get(id)).properties, props(["a", "2"]));
    await rejectsWith(
      store.update({ id: "missing", expectedVersion: 1, set: [], remove: [] }),
      "not_found",
    );
  },
  "delete checks the version and removes the worknode": async (store) => {
    const { id } = await store.create({ kind: "k", properties: props(["a", "1"]) });
    const error = await rejectsWith(store.delete({ id, expectedVersion: 5 }), "aborted");
    assert.equal(error.details?.currentVersion, 1);
    await store.delete({ id, expectedVersion: 1 });
    await rejectsWith(store.get(id), "not_found");
    await rejectsWith(store.delete({ id, expectedVersion: 1 }), "not_found");
    // The id is free again, with no leftover properties.
    await store.create({ kind: "k", properties: [], id });
    assert.deepEqual((await store.get(id)).properties, []);
  },
  "limits: key, value, duplicate keys, count, names are invalid_argument": async (store) => {
    const bad = [
      store.create({ kind: "k", properties: props(["k".repeat(257), "v"]) }),
      store.create({ kind: "k", properties: props(["é".repeat(129), "v"]) }),
      store.create({ kind: "k", properties: props(["k", "v".repeat(8193)]) }),
      store.create({ kind: "k", properties: props(["k", "€".repeat(2731)]) }),
      store.create({ kind: "k", properties: props(["k", "1"], ["k", "2"]) }),
      store.create({ kind: "k", properties: props(["", "1"]) }),
      store.create({ kind: "", properties: [] }),
      store.create({ kind: "k", properties: [], id: "has space" }),
      store.create({
        kind: "k",
        properties: Array.from({ length: 4097 }, (_, i) => ({ key: `k${i}`, value: "" })),
      }),
      store.update({ id: "x", expectedVersion: 0, set: [], remove: [] }),
      store.update({ id: "x", expectedVersion: 1, set: props(["a", "1"]), remove: ["a"] }),
      store.update({ id: "x", expectedVersion: 1, set: [], remove: ["a", "a"] }),
    ];
    for (const promise of bad) await rejectsWith(promise, "invalid_argument");
    // At the limits exactly, it is accepted.
    const { id } = await store.create({
      kind: "k",
      properties: props(["é".repeat(128), "€".repeat(2730) + "ab"], ["k".repeat(256), ""]),
    });
    assert.equal((await store.get(id)).properties.length, 2);
  },
  "properties per worknode stay <= 4096 across updates": async (store) => {
    const full = Array.from({ length: 4096 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    const { id } = await store.create({ kind: "k", properties: full });
    const error = await rejectsWith(
      store.update({ id, expectedVersion: 1, set: props(["extra", "1"]), remove: [] }),
      "invalid_argument",
    );
    assert.equal(error.details?.count, 4097);
    const worknode = await store.get(id);
    assert.equal(worknode.version, 1);
    assert.equal(worknode.properties.length, 4096);
    // Replacing and swapping keys within the limit is fine.
    const { version } = await store.update({
      id,
      expectedVersion: 1,
      set: props(["k0", "new"], ["extra", "1"]),
      remove: ["k1"],
    });
    assert.equal(version, 2);
  },
  "list pages in id order with an opaque cursor and a kind filter": async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `w-${String(i).padStart(2, "0")}`;
      await store.create({
        kind: i % 2 === 0 ? "even" : "odd",
        properties: props(["i", `${i}`]),
        id,
      });
      ids.push(id);
    }
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const result = await store.list({ cursor, limit: 3 });
      seen.push(...result.worknodes.map((w) => w.id));
      for (const w of result.worknodes) {
        assert.deepEqual(w.properties, props(["i", `${Number(w.id.slice(2))}`]));
      }
      cursor = result.nextCursor;
      if (cursor === "") break;
    }
    assert.deepEqual(seen, ids);
    const even = await store.list({ kind: "even", limit: 0 });
    assert.deepEqual(even.worknodes.map((w) => w.id), ["w-00", "w-02", "w-04", "w-06"]);
    assert.equal(even.nextCursor, "");
    assert.deepEqual((await store.list({ kind: "none" })).worknodes, []);
    await rejectsWith(store.list({ limit: 1001 }), "invalid_argument");
    await rejectsWith(store.list({ cursor: "garbage" }), "invalid_argument");
    const all = await store.list({ limit: 1000 });
    assert.equal(all.worknodes.length, 7);
  },
  "a list page ends early rather than exceed bytesMax, and always advances": async (store) => {
    for (const id of ["p-1", "p-2", "p-3"]) {
      await store.create({ kind: "big", id, properties: props(["v", "x".repeat(8000)]) });
    }
    const first = await store.list({ kind: "big", bytesMax: 20_000 });
    assert.deepEqual(first.worknodes.map((w) => w.id), ["p-1", "p-2"]);
    assert.notEqual(first.nextCursor, "");
    const second = await store.list({ kind: "big", bytesMax: 20_000, cursor: first.nextCursor });
    assert.deepEqual(second.worknodes.map((w) => w.id), ["p-3"]);
    assert.equal(second.nextCursor, "");
    const tiny = await store.list({ kind: "big", bytesMax: 1 });
    assert.deepEqual(tiny.worknodes.map((w) => w.id), ["p-1"]);
    assert.notEqual(tiny.nextCursor, "");
  },
  "generated ids sort by creation time, so list order is creation order": async (store) => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      created.push((await store.create({ kind: "t", properties: [] })).id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const listed = (await store.list({ kind: "t" })).worknodes.map((w) => w.id);
    assert.deepEqual(listed, created);
  },
  "overlap reports every conflict and consistency": async (store) => {
    await store.create({
      kind: "k",
      id: "a",
      properties: props(["same", "1"], ["diff", "x"], ["onlyA", "a"]),
    });
    await store.create({
      kind: "k",
      id: "b",
      properties: props(["same", "1"], ["diff", "y"], ["onlyB", "b"]),
    });
    const consistent = await store.overlap({ a: "a", b: "b", properties: props(["same", "1"]) });
    assert.deepEqual(consistent, { consistent: true, conflicts: [] });
    const verdict = await store.overlap({
      a: "a",
      b: "b",
      properties: props(["same", "2"], ["diff", "x"], ["onlyA", "a"], ["none", ""]),
    });
    assert.equal(verdict.consistent, false);
    assert.deepEqual(verdict.conflicts, [
      {
        key: "same",
        valueA: "1",
        valueB: "1",
        valueClaimed: "2",
        presentInA: true,
        presentInB: true,
      },
      {
        key: "diff",
        valueA: "x",
        valueB: "y",
        valueClaimed: "x",
        presentInA: true,
        presentInB: true,
      },
      {
        key: "onlyA",
        valueA: "a",
        valueB: "",
        valueClaimed: "a",
        presentInA: true,
        presentInB: false,
      },
      {
        key: "none",
        valueA: "",
        valueB: "",
        valueClaimed: "",
        presentInA: false,
        presentInB: false,
      },
    ]);
    await rejectsWith(store.overlap({ a: "a", b: "missing", properties: [] }), "not_found");
  },
  "glue applies to both and bumps both versions when a and b agree": async (store) => {
    await store.create({ kind: "k", id: "a", properties: props(["s", "1"], ["x", "a"]) });
    await store.create({ kind: "k", id: "b", properties: props(["s", "1"]) });
    const result = await store.glue({
      a: "a",
      b: "b",
      expectedVersionA: 1,
      expectedVersionB: 1,
      properties: props(["s", "2"], ["new", "n"]),
      resolve: false,
    });
    assert.deepEqual(result, { versionA: 2, versionB: 2 });
    assert.deepEqual(
      (await store.get("a")).properties,
      props(["new", "n"], ["s", "2"], ["x", "a"]),
    );
    assert.deepEqual((await store.get("b")).properties, props(["new", "n"], ["s", "2"]));
  },
  "glue is all-or-nothing: disagreement, stale version or missing node change nothing": async (
    store,
  ) => {
    await store.create({ kind: "k", id: "a", properties: props(["s", "1"]) });
    await store.create({ kind: "k", id: "b", properties: props(["s", "2"]) });
    const glue = { a: "a", b: "b", expectedVersionA: 1, expectedVersionB: 1, resolve: false };
    const refused = await rejectsWith(
      store.glue({ ...glue, properties: props(["s", "3"], ["t", "1"]) }),
      "failed_precondition",
    );
    assert.equal(refused.details?.conflictCount, 1);
    const stale = await rejectsWith(
      store.glue({ ...glue, expectedVersionB: 9, properties: props(["t", "1"]) }),
      "aborted",
    );
    assert.equal(stale.details?.currentVersion, 1);
    await rejectsWith(store.glue({ ...glue, b: "zz", properties: [] }), "not_found");
    await rejectsWith(store.glue({ ...glue, b: "a", properties: [] }), "invalid_argument");
    for (const [id, value] of [["a", "1"], ["b", "2"]]) {
      const worknode = await store.get(id);
      assert.equal(worknode.version, 1);
      assert.deepEqual(worknode.properties, props(["s", value]));
    }
    // With resolve the caller's values win.
    const resolved = await store.glue({ ...glue, properties: props(["s", "3"]), resolve: true });
    assert.deepEqual(resolved, { versionA: 2, versionB: 2 });
    assert.deepEqual((await store.get("a")).properties, props(["s", "3"]));
    assert.deepEqual((await store.get("b")).properties, props(["s", "3"]));
  },
  "ping answers; health is ok and its report is stable": async (store) => {
    await store.ping();
    assert.deepEqual(await store.health(), { ok: true, problem: null });
    // A second report within the probe interval reuses the first probe.
    assert.deepEqual(await store.health(), { ok: true, problem: null });
  },
  "delete + re-create continues the version: a stale expectedVersion is aborted": async (store) => {
    await store.create({ kind: "k", properties: props(["a", "1"]), id: "aba" });
    await store.update({ id: "aba", expectedVersion: 1, set: props(["a", "2"]), remove: [] });
    await store.delete({ id: "aba", expectedVersion: 2 });
    // The tombstone is invisible: get, list, overlap, update and delete see no worknode.
    await rejectsWith(store.get("aba"), "not_found");
    assert.deepEqual((await store.list({})).worknodes, []);
    await rejectsWith(
      store.update({ id: "aba", expectedVersion: 2, set: [], remove: [] }),
      "not_found",
    );
    await rejectsWith(store.delete({ id: "aba", expectedVersion: 2 }), "not_found");
    // It does not block a re-create, of any kind; the version continues from the deleted one.
    assert.deepEqual(await store.create({ kind: "other", properties: [], id: "aba" }), {
      id: "aba",
      version: 3,
    });
    const worknode = await store.get("aba");
    assert.deepEqual([worknode.kind, worknode.version, worknode.properties], ["other", 3, []]);
    for (const stale of [1, 2]) {
      const error = await rejectsWith(
        store.update({ id: "aba", expectedVersion: stale, set: props(["a", "x"]), remove: [] }),
        "aborted",
      );
      assert.equal(error.details?.currentVersion, 3);
      await rejectsWith(store.delete({ id: "aba", expectedVersion: stale }), "aborted");
    }
    assert.deepEqual(await store.update({ id: "aba", expectedVersion: 3, set: [], remove: [] }), {
      version: 4,
    });
    // A second cycle keeps climbing, and a glue with the stale pair is refused too.
    await store.delete({ id: "aba", expectedVersion: 4 });
    assert.equal((await store.create({ kind: "k", properties: [], id: "aba" })).version, 5);
    await store.create({ kind: "k", properties: [], id: "other" });
    const glue = { a: "aba", b: "other", expectedVersionB: 1, properties: [], resolve: false };
    await rejectsWith(store.glue({ ...glue, expectedVersionA: 4 }), "aborted");
    assert.deepEqual(await store.glue({ ...glue, expectedVersionA: 5 }), {
      versionA: 6,
      versionB: 2,
    });
  },
  "list skips tombstones between live worknodes, across pages": async (store) => {
    for (const id of ["a", "b", "c", "d", "e"]) {
      await store.create({ kind: "k", properties: [], id });
    }
    for (const id of ["b", "d"]) await store.delete({ id, expectedVersion: 1 });
    const first = await store.list({ limit: 2 });
    assert.deepEqual(first.worknodes.map((w) => w.id), ["a", "c"]);
    const second = await store.list({ limit: 2, cursor: first.nextCursor });
    assert.deepEqual([second.worknodes.map((w) => w.id), second.nextCursor], [["e"], ""]);
    assert.deepEqual((await store.list({ kind: "k" })).worknodes.map((w) => w.id), ["a", "c", "e"]);
  },
};

for (const kind of STORE_KINDS) {
  for (const [name, run] of Object.entries(CASES)) {
    Deno.test(`store ${kind}: ${name}`, async () => {
      const fresh = await openFreshStore(kind);
      try {
        await run(fresh.store);
      } finally {
        await fresh.cleanup();
      }
    });
  }
  Deno.test(`store ${kind}: a closed store is unavailable, and reopening sees the data`, async () => {
    const fresh = await openFreshStore(kind);
    try {
      const { id } = await fresh.store.create({ kind: "k", properties: props(["a", "1"]) });
      const other = await fresh.reopen();
      await other.close();
      await other.close();
      await rejectsWith(other.ping(), "unavailable");
      await rejectsWith(other.get(id), "unavailable");
      const again = await fresh.reopen();
      try {
        assert.deepEqual((await again.get(id)).properties, props(["a", "1"]));
      } finally {
        await again.close();
      }
    } finally {
      await fresh.cleanup();
    }
  });
}

/** Tombstone count and version floor: both stores expose them for diagnostics. */
function tombstoneStats(store: Store): Promise<{ count: number; versionFloor: number }> {
  return (store as SqliteStore | PostgresStore).tombstoneStats();
}

for (const kind of STORE_KINDS) {
  Deno.test(`store ${kind}: tombstones stay bounded, and purged ids still never go back`, async () => {
    // A cap of 4: a purge every 4th delete drops those 4 sequence numbers old, so at most
    // 4 + 4 - 1 tombstones are ever kept.
    const fresh = await openFreshStore(kind, { tombstonesMax: 4 });
    const store = fresh.store;
    try {
      const lastVersion = new Map<string, number>();
      for (let i = 0; i < 20; i++) {
        const id = `t${i}`;
        let { version } = await store.create({ kind: "k", properties: props(["a", "1"]), id });
        // Some worknodes reach higher versions before their delete.
        for (let n = 0; n < i % 3; n++) {
          version = (await store.update({ id, expectedVersion: version, set: [], remove: [] }))
            .version;
        }
        await store.delete({ id, expectedVersion: version });
        lastVersion.set(id, version);
        assert.ok((await tombstoneStats(store)).count <= 7, `after ${i + 1} deletes`);
      }
      const stats = await tombstoneStats(store);
      assert.equal(stats.count, 4, "seqs 17..20 are kept after the purge at 20");
      // t0..t15 were purged; the floor is the highest version among them.
      const purged = [...lastVersion].filter(([id]) => Number(id.slice(1)) < 16);
      assert.equal(stats.versionFloor, Math.max(...purged.map(([, version]) => version)));
      assert.ok(stats.versionFloor > 3, "ids created after a purge start above the floor");
      for (const [id, version] of lastVersion) {
        const created = await store.create({ kind: "k", properties: [], id });
        assert.ok(created.version > version, `${id}: ${created.version} > ${version}`);
        await rejectsWith(
          store.update({ id, expectedVersion: version, set: [], remove: [] }),
          "aborted",
        );
      }
      // A never-seen id starts above the floor once a purge happened.
      const { versionFloor } = await tombstoneStats(store);
      assert.equal(
        (await store.create({ kind: "k", properties: [], id: "new" })).version,
        versionFloor + 1,
      );
    } finally {
      await fresh.cleanup();
    }
  });

  Deno.test(`store ${kind}: racing delete and re-create of one id never reuse a version`, async () => {
    const fresh = await openFreshStore(kind);
    const store = fresh.store;
    try {
      let version = (await store.create({ kind: "k", properties: [], id: "race" })).version;
      const seen = [version];
      for (let round = 0; round < 25; round++) {
        // The create may run before the delete (already_exists) or after it (a new version).
        const [, created] = await Promise.allSettled([
          store.delete({ id: "race", expectedVersion: version }),
          store.create({ kind: "k", properties: [], id: "race" }),
        ]);
        if (created.status === "rejected") {
          assert.equal((created.reason as RpcError).code, "already_exists");
          version = (await store.create({ kind: "k", properties: [], id: "race" })).version;
        } else {
          version = created.value.version;
        }
        assert.ok(version > seen[seen.length - 1], `round ${round}: ${version} after ${seen}`);
        seen.push(version);
      }
    } finally {
      await fresh.cleanup();
    }
  });
}
