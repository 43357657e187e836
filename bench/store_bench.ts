/**
 * Store benchmarks: `deno bench -A bench/store_bench.ts` (needs WORKNODE_TEST_PG_URL and a
 * running PostgreSQL, see scripts/ensure_deps.sh).
 *
 * One group per operation; the SQLite store is the baseline measured in the same run, so Deno
 * prints PostgreSQL's ratio. Each store holds 1,000 worknodes of 16 properties (64-byte values);
 * get reads one of them, update sets two keys with the right expectedVersion (a durable commit:
 * fsync on SQLite with synchronous=FULL, WAL flush on PostgreSQL), overlap checks 16 keys.
 */

import type { Store } from "../store/mod.ts";
import { openFreshStore } from "../tests/store_harness.ts";

const WORKNODE_COUNT = 1000;
const PROPERTY_COUNT = 16;

const properties = Array.from({ length: PROPERTY_COUNT }, (_, i) => ({
  key: `key-${i}`,
  value: "v".repeat(64),
}));

async function seed(store: Store): Promise<{ ids: string[]; versions: Map<string, number> }> {
  const ids: string[] = [];
  for (let i = 0; i < WORKNODE_COUNT; i++) {
    ids.push((await store.create({ kind: "bench", properties })).id);
  }
  return { ids, versions: new Map(ids.map((id) => [id, 1])) };
}

// Without a PostgreSQL URL the file still benches SQLite (a benchmark is not a test; the tests
// fail instead), and says so.
const withPostgres = (Deno.env.get("WORKNODE_TEST_PG_URL") ?? "") !== "";
if (!withPostgres) console.log("store_bench: WORKNODE_TEST_PG_URL unset, SQLite only");
const stores = [await openFreshStore("sqlite")];
if (withPostgres) stores.push(await openFreshStore("postgres"));
const seeded = new Map<string, Awaited<ReturnType<typeof seed>>>();
for (const fresh of stores) seeded.set(fresh.store.kind, await seed(fresh.store));

globalThis.addEventListener("unload", () => {
  // Unload cannot await: the cleanups start here and finish before the process exits.
  for (const fresh of stores) void fresh.cleanup();
});

for (const fresh of stores) {
  const store = fresh.store;
  const { ids, versions } = seeded.get(store.kind)!;
  let next = 0;
  const baseline = store.kind === "sqlite";
  Deno.bench({
    name: `${store.kind} get`,
    group: "get",
    baseline,
    async fn() {
      await store.get(ids[next++ % ids.length]);
    },
  });
  Deno.bench({
    name: `${store.kind} update (2 keys)`,
    group: "update",
    baseline,
    async fn() {
      const id = ids[next++ % ids.length];
      const expectedVersion = versions.get(id)!;
      const set = [{ key: "key-0", value: String(next) }, { key: "extra", value: "x" }];
      const { version } = await store.update({ id, expectedVersion, set, remove: [] });
      versions.set(id, version);
    },
  });
  Deno.bench({
    name: `${store.kind} overlap (16 keys)`,
    group: "overlap",
    baseline,
    async fn() {
      const a = ids[next++ % ids.length];
      const b = ids[next % ids.length];
      await store.overlap({ a, b, properties });
    },
  });
}
