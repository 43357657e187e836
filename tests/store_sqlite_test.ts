/** SQLite-specific store behaviour: durability settings, file location, migrations. */

import assert from "@std/assert";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openSqliteStore, openStore, SQLITE_FILE_NAME } from "../store/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { READ_SNAPSHOT_AGE_MS_MAX } from "../store/_sqlite_connection.ts";

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

/** Opens a store and a second handle on its file (another process's view of it). */
async function withTwoHandles(
  body: (store: Awaited<ReturnType<typeof openSqliteStore>>, other: DatabaseSync) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-sqlite-snapshot-" });
  const store = await openSqliteStore(dataDir);
  const other = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
  try {
    other.exec("PRAGMA busy_timeout = 5000");
    await body(store, other);
  } finally {
    other.close();
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function setOutside(other: DatabaseSync, id: string, value: string): void {
  other.prepare("UPDATE properties SET value = ? WHERE worknode_id = ? AND key = 'a'").run(
    value,
    id,
  );
}

Deno.test("sqlite read snapshot: this handle's writes are seen at once", async () => {
  await withTwoHandles(async (store) => {
    const { id, version } = await store.create({
      kind: "k",
      properties: [{ key: "a", value: "1" }],
    });
    assert.equal((await store.get(id)).properties[0].value, "1");
    await store.update({
      id,
      expectedVersion: version,
      set: [{ key: "a", value: "2" }],
      remove: [],
    });
    const got = await store.get(id);
    assert.equal(got.properties[0].value, "2");
    assert.equal(got.version, version + 1);
    await store.delete({ id, expectedVersion: version + 1 });
    await assert.rejects(
      () => store.get(id),
      (error: unknown) => error instanceof RpcError && error.code === "not_found",
    );
  });
});

Deno.test("sqlite read snapshot: another handle's commit is seen within READ_SNAPSHOT_AGE_MS_MAX", async () => {
  await withTwoHandles(async (store, other) => {
    const { id } = await store.create({ kind: "k", properties: [{ key: "a", value: "1" }] });
    assert.equal((await store.get(id)).properties[0].value, "1");
    setOutside(other, id, "outside");
    await new Promise((resolve) => setTimeout(resolve, READ_SNAPSHOT_AGE_MS_MAX + 20));
    assert.equal((await store.get(id)).properties[0].value, "outside");
  });
});

Deno.test("sqlite read snapshot: a write of this handle ends it, so the next read is current", async () => {
  await withTwoHandles(async (store, other) => {
    const a = await store.create({ kind: "k", properties: [{ key: "a", value: "1" }] });
    assert.equal((await store.get(a.id)).properties[0].value, "1");
    setOutside(other, a.id, "outside");
    // No wait: the create below ends the snapshot the get above may still share.
    await store.create({ kind: "k", properties: [] });
    assert.equal((await store.get(a.id)).properties[0].value, "outside");
  });
});

Deno.test("sqlite read snapshot: an idle store holds none, so another handle's checkpoint completes", async () => {
  await withTwoHandles(async (store, other) => {
    const { id } = await store.create({ kind: "k", properties: [{ key: "a", value: "1" }] });
    setOutside(other, id, "2");
    await store.get(id);
    await new Promise((resolve) => setTimeout(resolve, READ_SNAPSHOT_AGE_MS_MAX + 20));
    const busyIdle = other.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    assert.equal(busyIdle.busy, 0, "no snapshot is left open once the store is idle");
  });
});
