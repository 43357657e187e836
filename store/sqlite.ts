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
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { RpcError } from "../errors/rpc_error.ts";
import { checkOverlap, gluingConflicts, type OverlapVerdict } from "../domain/sheaf.ts";
import { DOMAIN_LIMITS, type Property, validateName } from "../domain/limits.ts";
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from "./migrations.ts";
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
export interface SqliteStoreOptions {
  /** How long a handle waits for another handle's write lock before `unavailable`. */
  readonly busyTimeoutMs?: number;
}

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

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

/** Turns SQLite's lock errors into `unavailable`; everything else passes through. */
function mapSqliteError(error: unknown): unknown {
  if (error instanceof RpcError) return error;
  const errcode = (error as { errcode?: number }).errcode;
  if (
    errcode !== undefined &&
    ((errcode & 0xff) === SQLITE_BUSY || (errcode & 0xff) === SQLITE_LOCKED)
  ) {
    return new RpcError("unavailable", "Cannot reach the store: the database is locked", {
      cause: error,
    });
  }
  return error;
}

/** The SQLite implementation of `Store`. Open it with `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  readonly path: string;
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new RangeError(`Cannot open store: busyTimeoutMs ${busyTimeoutMs} is not >= 0`);
    }
    this.path = path;
    this.#db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    // busy_timeout first: switching to WAL itself needs a lock another handle may hold.
    this.#db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#migrate();
  }

  #migrate(): void {
    this.#transaction(() => {
      this.#db.exec(MIGRATIONS_TABLE_SQL.sqlite);
      const row = this.#db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as {
        v: number | null;
      };
      const current = row.v ?? 0;
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        for (const statement of migration.sqlite) this.#db.exec(statement);
        this.#db.prepare(
          "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
        ).run(migration.version, migration.name, Date.now());
      }
    });
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #transaction<T>(body: () => T): T {
    if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw mapSqliteError(error);
    }
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw mapSqliteError(error);
    }
  }

  #read<T>(body: () => T): T {
    if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
    // A deferred transaction gives one consistent snapshot for multi-statement reads.
    try {
      this.#db.exec("BEGIN");
      try {
        return body();
      } finally {
        if (this.#db.isTransaction) this.#db.exec("COMMIT");
      }
    } catch (error) {
      throw mapSqliteError(error);
    }
  }

  #worknodeRow(id: string): SqliteWorknodeRow | undefined {
    return this.#statement(
      "SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes WHERE id = ?",
    ).get(id) as SqliteWorknodeRow | undefined;
  }

  #upsertProperties(id: string, properties: readonly Property[]): void {
    const upsert = this.#statement(
      `INSERT INTO properties (worknode_id, key, value) VALUES (?, ?, ?)
       ON CONFLICT (worknode_id, key) DO UPDATE SET value = excluded.value`,
    );
    for (const property of properties) upsert.run(id, property.key, property.value);
  }

  #checkPropertyCount(id: string): void {
    const row = this.#statement("SELECT count(*) AS n FROM properties WHERE worknode_id = ?")
      .get(id) as { n: number };
    if (row.n > DOMAIN_LIMITS.propertiesPerWorknodeMax) throw tooManyProperties(id, row.n);
  }

  /** Bumps the version if it matches; throws not_found/aborted otherwise. */
  #bumpVersion(id: string, expectedVersion: number, nowMs: number): number {
    const bumped = this.#statement(
      `UPDATE worknodes SET version = version + 1, updated_at_ms = ?
       WHERE id = ? AND version = ? RETURNING version`,
    ).get(nowMs, id, expectedVersion) as { version: number } | undefined;
    if (bumped !== undefined) return bumped.version;
    const row = this.#worknodeRow(id);
    if (row === undefined) throw notFound(id);
    throw staleVersion(id, expectedVersion, row.version);
  }

  #values(id: string, keysJson: string): Map<string, string> {
    const rows = this.#statement(
      `SELECT key, value FROM properties
       WHERE worknode_id = ? AND key IN (SELECT value FROM json_each(?))`,
    ).all(id, keysJson) as unknown as PropertyRow[];
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  create(input: CreateInput): Promise<{ id: string; version: number }> {
    return Promise.resolve().then(() => {
      const { id, kind } = checkCreate(input);
      const nowMs = Date.now();
      return this.#transaction(() => {
        const inserted = this.#statement(
          `INSERT INTO worknodes (id, kind, version, created_at_ms, updated_at_ms)
           VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING version`,
        ).get(id, kind, nowMs, nowMs);
        if (inserted === undefined) throw alreadyExists(id);
        this.#upsertProperties(id, input.properties);
        return { id, version: 1 };
      });
    });
  }

  get(id: string): Promise<Worknode> {
    return Promise.resolve().then(() => {
      validateName("id", id);
      return this.#read(() => {
        const row = this.#worknodeRow(id);
        if (row === undefined) throw notFound(id);
        const properties = this.#statement(
          "SELECT key, value FROM properties WHERE worknode_id = ? ORDER BY key",
        ).all(id) as unknown as Property[];
        return toWorknode(row, properties.map((p) => ({ key: p.key, value: p.value })));
      });
    });
  }

  update(input: UpdateInput): Promise<{ version: number }> {
    return Promise.resolve().then(() => {
      checkUpdate(input);
      const nowMs = Date.now();
      return this.#transaction(() => {
        const version = this.#bumpVersion(input.id, input.expectedVersion, nowMs);
        this.#upsertProperties(input.id, input.set);
        const remove = this.#statement("DELETE FROM properties WHERE worknode_id = ? AND key = ?");
        for (const key of input.remove) remove.run(input.id, key);
        if (input.set.length > 0) this.#checkPropertyCount(input.id);
        return { version };
      });
    });
  }

  delete(input: DeleteInput): Promise<void> {
    return Promise.resolve().then(() => {
      checkDelete(input);
      this.#transaction(() => {
        const deleted = this.#statement(
          "DELETE FROM worknodes WHERE id = ? AND version = ? RETURNING id",
        ).get(input.id, input.expectedVersion);
        if (deleted !== undefined) return;
        const row = this.#worknodeRow(input.id);
        if (row === undefined) throw notFound(input.id);
        throw staleVersion(input.id, input.expectedVersion, row.version);
      });
    });
  }

  list(input: ListInput): Promise<ListPage> {
    return Promise.resolve().then(() => {
      const { kind, afterId, limit, bytesMax } = checkList(input);
      return this.#read(() => {
        const rows = (kind === ""
          ? this.#statement(
            `SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
             WHERE id > ? ORDER BY id LIMIT ?`,
          ).all(afterId, limit + 1)
          : this.#statement(
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
    const rows = this.#statement(
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
    const rows = this.#statement(
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
      return this.#read(() => {
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
      return this.#transaction(() => {
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
    const read = (name: string) => Object.values(this.#db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
    return {
      journalMode: String(read("journal_mode")),
      synchronous: Number(read("synchronous")),
      busyTimeoutMs: Number(read("busy_timeout")),
    };
  }

  ping(): Promise<void> {
    return Promise.resolve().then(() => {
      if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
      this.#statement("SELECT 1").get();
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#statements.clear();
      this.#db.close();
    }
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
  return Promise.resolve().then(() => {
    Deno.mkdirSync(dataDir, { recursive: true });
    return new SqliteStore(join(dataDir, SQLITE_FILE_NAME), options);
  });
}
