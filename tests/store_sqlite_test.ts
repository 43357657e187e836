/** SQLite-specific store behaviour: durability settings, file location, migrations. */

import assert from "@std/assert";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openSqliteStore, openStore, SQLITE_FILE_NAME } from "../store/mod.ts";

Deno.test("sqlite store: WAL + synchronous=FULL + busy_timeout, file under the data dir", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-test-" });
  try {
    const store = await openSqliteStore(join(dataDir, "nested"), { busyTimeoutMs: 1234 });
    try {
      assert.deepEqual(store.settings(), {
        journalMode: "wal",
        synchronous: 2, // FULL
        busyTimeoutMs: 1234,
      });
      assert.equal(store.path, join(dataDir, "nested", SQLITE_FILE_NAME));
      assert.ok((await Deno.stat(store.path)).isFile);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sqlite store: migrations are recorded once and reopening keeps data", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-test-" });
  try {
    const first = await openStore("sqlite", { dataDir });
    const { id } = await first.create({ kind: "k", properties: [{ key: "a", value: "1" }] });
    await first.close();
    const second = await openStore("", { dataDir });
    assert.equal((await second.get(id)).properties[0].value, "1");
    await second.close();
    const db = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
    try {
      const rows = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all();
      assert.deepEqual(rows.map((row) => row.version), [1, 2, 3]);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("openStore refuses an unknown spec and a bad busy timeout", async () => {
  await assert.rejects(() => openStore("mysql://x", { dataDir: "." }), TypeError);
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-test-" });
  try {
    await assert.rejects(() => openSqliteStore(dataDir, { busyTimeoutMs: -1 }), RangeError);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
