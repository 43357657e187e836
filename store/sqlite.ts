/**
 * The embedded store: SQLite through `node:sqlite` (`DatabaseSync`) in `<dataDir>/worknode.sqlite`.
 *
 * Durability: WAL journal with `synchronous=FULL`. In WAL mode `synchronous=NORMAL` syncs the WAL
 * only at checkpoints, so a committed transaction survives a crash of this process (its pages
 * are in the OS cache) but may be rolled back by a power loss or kernel crash; that breaks
 * "acknowledged = durable". `FULL` fsyncs the WAL at every commit, before the call returns, so
 * every acknowledged write is on stable storage.
 *
 * Concurrency: every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front, so two
 * handles (or processes) on the same file serialize instead of failing on a lock upgrade;
 * `busy_timeout` makes the waiting handle retry for a while before giving up with `unavailable`.
 * The version check inside the transaction makes optimistic concurrency exact.
 *
 * Files: the database, WAL and SHM are 0600; store failures, their log lines and the write
 * probe of readiness: `_sqlite_connection.ts`. Deletes leave tombstones (`tombstones.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { checkOverlap, gluingConflicts, type OverlapVerdict } from "../domain/sheaf.ts";
import { DOMAIN_LIMITS, type Property, validateName } from "../domain/limits.ts";
import type { StoreHealthReport } from "./health.ts";
import { SqliteConnection, type SqliteConnectionOptions } from "./_sqlite_connection.ts";
import { checkTombstonesMax, purgeBatch } from "./tombstones.ts";
import {
  alreadyExists,
  checkCreate,
  checkDelete,
  checkGlue,
  checkList,
  checkOverlapInput,
  checkUpdate,
  encodeCursor,
  gluingRefused,
  notFound,
  pageCountFitting,
  type PropertySize,
  staleVersion,
  tooManyProperties,
  toWorknode,
  type WorknodeRow,
} from "./_private.ts";
import type {
  CreateInput,
  DeleteInput,
  GlueInput,
  GlueResult,
  ListInput,
  ListPage,
  OverlapInput,
  Store,
  UpdateInput,
  Worknode,
} from "./types.ts";

/** The file name of the database inside the data directory. */
export const SQLITE_FILE_NAME = "worknode.sqlite";

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions extends SqliteConnectionOptions {
  /** Tombstones kept before the oldest are purged; default 65,536 (`tombstones.ts`). */
  readonly tombstonesMax?: number;
}

/** A row of `get`'s join: the worknode's columns, then one property (null for none). */
type WorknodeJoinRow = [
  kind: string,
  version: number,
  createdAtMs: number,
  updatedAtMs: number,
  key: string | null,
  value: string | null,
];

/** A worknodes row as SQLite returns it (integers as numbers). */
interface SqliteWorknodeRow extends WorknodeRow {
  version: number;
  created_at_ms: number;
  updated_at_ms: number;
}

interface PropertyRow {
  worknode_id: string;
  key: string;
  value: string;
}

/** The SQLite implementation of `Store`. Open it with `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  readonly path: string;
  readonly #db: SqliteConnection;
  readonly #tombstonesMax: number;

  /** Opens `path`; throws one line naming the file when it cannot be opened or migrated. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#tombstonesMax = checkTombstonesMax(options.tombstonesMax);
    this.path = path;
    this.#db = new SqliteConnection(path, options);
  }

  #worknodeRow(id: string): SqliteWorknodeRow | undefined {
    return this.#db.statement(
      "SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes WHERE id = ?",
    ).get(id) as SqliteWorknodeRow | undefined;
  }

  #upsertProperties(id: string, properties: readonly Property[]): void {
    const upsert = this.#db.statement(
      `INSERT INTO properties (worknode_id, key, value) VALUES (?, ?, ?)
       ON CONFLICT (worknode_id, key) DO UPDATE SET value = excluded.value`,
    );
    for (const property of properties) upsert.run(id, property.key, property.value);
  }

  #checkPropertyCount(id: string): void {
    const row = this.#db.statement("SELECT count(*) AS n FROM properties WHERE worknode_id = ?")
      .get(id) as { n: number };
    if (row.n > DOMAIN_LIMITS.propertiesPerWorknodeMax) throw tooManyProperties(id, row.n);
  }

  /** Bumps the version if it matches; throws not_found/aborted otherwise. */
  #bumpVersion(id: string, expectedVersion: number, nowMs: number): number {
    const bumped = this.#db.statement(
      `UPDATE worknodes SET version = version + 1, updated_at_ms = ?
       WHERE id = ? AND version = ? RETURNING version`,
    ).get(nowMs, id, expectedVersion) as { version: number } | undefined;
    if (bumped !== undefined) return bumped.version;
    const row = this.#worknodeRow(id);
    if (row === undefined) throw notFound(id);
    throw staleVersion(id, expectedVersion, row.version);
  }

  #values(id: string, keysJson: string): Map<string, string> {
    const rows = this.#db.statement(
      `SELECT key, value FROM properties
       WHERE worknode_id = ? AND key IN (SELECT value FROM json_each(?))`,
    ).all(id, keysJson) as unknown as PropertyRow[];
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  create(input: CreateInput): Promise<{ id: string; version: number }> {
    return Promise.resolve().then(() => {
      const { id, kind } = checkCreate(input);
      const nowMs = Date.now();
      return this.#db.transaction(() => {
        // The version continues from the id's tombstone, else from the floor (tombstones.ts).
        const inserted = this.#db.statement(
          `INSERT INTO worknodes (id, kind, version, created_at_ms, updated_at_ms)
           VALUES (?1, ?2, coalesce((SELECT version FROM tombstones WHERE id = ?1),
             (SELECT version FROM version_floor)) + 1, ?3, ?3)
           ON CONFLICT (id) DO NOTHING RETURNING version`,
        ).get(id, kind, nowMs) as { version: number } | undefined;
        if (inserted === undefined) throw alreadyExists(id);
        this.#db.statement("DELETE FROM tombstones WHERE id = ?").run(id);
        this.#upsertProperties(id, input.properties);
        return { id, version: inserted.version };
      });
    });
  }

  get(id: string): Promise<Worknode> {
    return Promise.resolve().then(() => {
      validateName("id", id);
      // In the connection's shared read snapshot (`read`): a read transaction of its own would
      // cost two fcntl locks and an fstat (docs/operations.md, SQLite reads).
      const rows = this.#db.read(() =>
        this.#db.arrayStatement(
          `SELECT w.kind, w.version, w.created_at_ms, w.updated_at_ms, p.key, p.value
           FROM worknodes w LEFT JOIN properties p ON p.worknode_id = w.id
           WHERE w.id = ? ORDER BY p.key`,
        ).all(id) as unknown as WorknodeJoinRow[]
      );
      if (rows.length === 0) throw notFound(id);
      const properties: Property[] = [];
      for (const row of rows) if (row[4] !== null) properties.push({ key: row[4], value: row[5]! });
      const [kind, version, createdAtMs, updatedAtMs] = rows[0];
      return { id, kind, properties, version, createdAtMs, updatedAtMs };
    });
  }

  update(input: UpdateInput): Promise<{ version: number }> {
    return Promise.resolve().then(() => {
      checkUpdate(input);
      const nowMs = Date.now();
      return this.#db.transaction(() => {
        const version = this.#bumpVersion(input.id, input.expectedVersion, nowMs);
        this.#upsertProperties(input.id, input.set);
        const remove = this.#db.statement(
          "DELETE FROM properties WHERE worknode_id = ? AND key = ?",
        );
        for (const key of input.remove) remove.run(input.id, key);
        if (input.set.length > 0) this.#checkPropertyCount(input.id);
        return { version };
      });
    });
  }

  delete(input: DeleteInput): Promise<void> {
    return Promise.resolve().then(() => {
      checkDelete(input);
      this.#db.transaction(() => {
        const deleted = this.#db.statement(
          "DELETE FROM worknodes WHERE id = ? AND version = ? RETURNING version",
        ).get(input.id, input.expectedVersion) as { version: number } | undefined;
        if (deleted !== undefined) return this.#bury(input.id, deleted.version);
        const row = this.#worknodeRow(input.id);
        if (row === undefined) throw notFound(input.id);
        throw staleVersion(input.id, input.expectedVersion, row.version);
      });
    });
  }

  /** Leaves the tombstone of a deleted worknode; every purgeBatch-th one purges old ones. */
  #bury(id: string, version: number): void {
    const { seq } = this.#db.statement(
      `INSERT INTO tombstones (id, version, deleted_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET version = max(version, excluded.version),
         deleted_at_ms = excluded.deleted_at_ms
       RETURNING seq`,
    ).get(id, version, Date.now()) as { seq: number };
    if (seq % purgeBatch(this.#tombstonesMax) !== 0) return;
    const below = seq - this.#tombstonesMax;
    // The floor first, so no tombstone leaves without its version counted.
    this.#db.statement(
      `UPDATE version_floor SET version = max(version,
         coalesce((SELECT max(version) FROM tombstones WHERE seq <= ?), 0))`,
    ).run(below);
    this.#db.statement("DELETE FROM tombstones WHERE seq <= ?").run(below);
  }

  list(input: ListInput): Promise<ListPage> {
    return Promise.resolve().then(() => {
      const { kind, afterId, limit, bytesMax } = checkList(input);
      return this.#db.read(() => {
        const rows = (kind === ""
          ? this.#db.statement(
            `SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
             WHERE id > ? ORDER BY id LIMIT ?`,
          ).all(afterId, limit + 1)
          : this.#db.statement(
            `SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
             WHERE kind = ? AND id > ? ORDER BY id LIMIT ?`,
          ).all(kind, afterId, limit + 1)) as unknown as SqliteWorknodeRow[];
        const candidates = rows.slice(0, limit).map((row) => row.id);
        const fitting = pageCountFitting(candidates, this.#sizesOf(candidates), bytesMax);
        const more = rows.length > fitting;
        const page = rows.slice(0, fitting);
        const byId = this.#propertiesOf(page.map((row) => row.id));
        return {
          worknodes: page.map((row) => toWorknode(row, byId.get(row.id) ?? [])),
          nextCursor: more ? encodeCursor(page[page.length - 1].id) : "",
        };
      });
    });
  }

  /** Property counts and bytes per worknode, summed in SQL so nothing large is loaded. */
  #sizesOf(ids: string[]): Map<string, PropertySize> {
    const rows = this.#db.statement(
      `SELECT worknode_id, count(*) AS n,
         sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))) AS bytes
       FROM properties WHERE worknode_id IN (SELECT value FROM json_each(?))
       GROUP BY worknode_id`,
    ).all(JSON.stringify(ids)) as unknown as { worknode_id: string; n: number; bytes: number }[];
    return new Map(rows.map((row) => [row.worknode_id, { count: row.n, bytes: row.bytes }]));
  }

  #propertiesOf(ids: string[]): Map<string, Property[]> {
    const byId = new Map<string, Property[]>();
    if (ids.length === 0) return byId;
    const rows = this.#db.statement(
      `SELECT worknode_id, key, value FROM properties
       WHERE worknode_id IN (SELECT value FROM json_each(?)) ORDER BY worknode_id, key`,
    ).all(JSON.stringify(ids)) as unknown as PropertyRow[];
    for (const row of rows) {
      let list = byId.get(row.worknode_id);
      if (list === undefined) byId.set(row.worknode_id, list = []);
      list.push({ key: row.key, value: row.value });
    }
    return byId;
  }

  overlap(input: OverlapInput): Promise<OverlapVerdict> {
    return Promise.resolve().then(() => {
      checkOverlapInput(input);
      const keysJson = JSON.stringify(input.properties.map((p) => p.key));
      return this.#db.read(() => {
        for (const id of [input.a, input.b]) {
          if (this.#worknodeRow(id) === undefined) throw notFound(id);
        }
        const a = this.#values(input.a, keysJson);
        const b = this.#values(input.b, keysJson);
        return checkOverlap(a, b, input.properties);
      });
    });
  }

  glue(input: GlueInput): Promise<GlueResult> {
    return Promise.resolve().then(() => {
      checkGlue(input);
      const keysJson = JSON.stringify(input.properties.map((p) => p.key));
      const nowMs = Date.now();
      return this.#db.transaction(() => {
        const versionA = this.#bumpVersion(input.a, input.expectedVersionA, nowMs);
        const versionB = this.#bumpVersion(input.b, input.expectedVersionB, nowMs);
        if (!input.resolve) {
          const conflicts = gluingConflicts(
            this.#values(input.a, keysJson),
            this.#values(input.b, keysJson),
            input.properties,
          );
          if (conflicts.length > 0) throw gluingRefused(input, conflicts);
        }
        for (const id of [input.a, input.b]) {
          this.#upsertProperties(id, input.properties);
          if (input.properties.length > 0) this.#checkPropertyCount(id);
        }
        return { versionA, versionB };
      });
    });
  }

  /** The durability settings in force on this handle (journal mode, synchronous level). */
  settings(): { journalMode: string; synchronous: number; busyTimeoutMs: number } {
    return this.#db.settings();
  }

  ping(): Promise<void> {
    return Promise.resolve().then(() => this.#db.ping());
  }

  health(): Promise<StoreHealthReport> {
    return this.#db.health();
  }

  /** How many tombstones are kept and the version floor (diagnostics, tests). */
  tombstoneStats(): Promise<{ count: number; versionFloor: number }> {
    return Promise.resolve().then(() =>
      this.#db.read(() => {
        const row = this.#db.statement(
          `SELECT (SELECT count(*) FROM tombstones) AS count,
             (SELECT version FROM version_floor) AS floor`,
        ).get() as { count: number; floor: number };
        return { count: row.count, versionFloor: row.floor };
      })
    );
  }

  close(): Promise<void> {
    this.#db.close();
    return Promise.resolve();
  }
}

/**
 * Opens (creating if needed) the SQLite store in `dataDir`, applying pending migrations.
 *
 * @example
 * ```ts
 * const store = await openSqliteStore("./data");
 * const { id } = await store.create({ kind: "sensor", properties: [] });
 * await store.close();
 * ```
 */
export function openSqliteStore(
  dataDir: string,
  options: SqliteStoreOptions = {},
): Promise<SqliteStore> {
  return Promise.resolve().then(async () => {
    try {
      Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot create data directory ${dataDir}: ${reason}`, { cause: error });
    }
    const store = new SqliteStore(join(dataDir, SQLITE_FILE_NAME), options);
    // One probe at open: a read-only file or a full disk is logged at start, not at the first
    // failing call.
    await store.health().catch(async (error) => {
      await store.close();
      throw error;
    });
    return store;
  });
}
