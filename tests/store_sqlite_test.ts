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

Deno.test("sqlite files: database, WAL and SHM are 0600 even with a permissive umask", async () => {
  const root = await Deno.makeTempDir({ prefix: "worknode-sqlite-modes-" });
  const umask = Deno.umask(0);
  try {
    const dataDir = join(root, "data");
    const store = await openSqliteStore(dataDir);
    try {
      await store.create({ kind: "k", properties: [{ key: "a", value: "1" }] });
      const path = join(dataDir, SQLITE_FILE_NAME);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, file);
      }
      assert.equal((await Deno.stat(dataDir)).mode! & 0o777, 0o700);
    } finally {
      await store.close();
    }
  } finally {
    Deno.umask(umask);
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sqlite files: an existing world-readable database loses its group and other bits only", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-modes-" });
  try {
    const path = join(dataDir, SQLITE_FILE_NAME);
    await (await openSqliteStore(dataDir)).close();
    await Deno.chmod(path, 0o644);
    await (await openSqliteStore(dataDir)).close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    // A database the operator made read-only stays read-only (0444 -> 0400, never 0600).
    await Deno.chmod(path, 0o444);
    await (await openSqliteStore(dataDir, { log: () => {} })).close();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o400);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sqlite: a file that is not a database fails to open with a message naming it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-notadb-" });
  try {
    const path = join(dataDir, SQLITE_FILE_NAME);
    await Deno.writeTextFile(path, "garbage ".repeat(1000));
    await assert.rejects(
      () => openSqliteStore(dataDir),
      (error: Error) => error.message === `Cannot open database ${path}: file is not a database`,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
