/**
 * One SQLite connection of the embedded store: opening (file modes, pragmas, migrations),
 * transactions, the mapping of failures to RpcErrors, and the write probe of readiness.
 *
 * A failure of the store itself (disk full, read-only file, I/O error, corruption) answers
 * `unavailable` or `data_loss`, is logged on stderr naming the file, and holds readiness down
 * (`health.ts`). The write probe is an insert of {@link WRITE_PROBE_DATABASE_BYTES} that is
 * always rolled back (no user data; nothing reaches the disk) plus a 1 MiB probe file beside
 * the database (free room on its file system, which the rolled-back insert does not touch).
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { RpcError } from "../errors/rpc_error.ts";
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from "./migrations.ts";
import { type StoreFault, StoreHealth, type StoreHealthReport } from "./health.ts";
import { isSqliteBusy, sqliteFault, toSqliteRpcError } from "./_sqlite_faults.ts";
import { prepareDatabaseFiles, probeRoomBeside, removeStaleProbes } from "./_sqlite_file.ts";

/** Options of a connection (the store's options, less its own). */
export interface SqliteConnectionOptions {
  /** How long a handle waits for another handle's write lock before `unavailable`. */
  readonly busyTimeoutMs?: number;
  /**
   * Caps the database at this many pages (`PRAGMA max_page_count`; 4 KiB pages): a write past
   * it fails as a full disk does (SQLITE_FULL). Default: SQLite's own limit.
   */
  readonly pageCountMax?: number;
  /** Where store-condition lines go; default stderr. */
  readonly log?: (line: string) => void;
}

/** How much the write probe's rolled-back insert asks the database to grow by. */
export const WRITE_PROBE_DATABASE_BYTES = 64 * 1024;
/** How long the write probe waits for another handle's write lock (it blocks the thread). */
const PROBE_BUSY_TIMEOUT_MS = 50;
const BUSY_TIMEOUT_MS_DEFAULT = 5000;
/**
 * How old a read snapshot may be when a read joins it: the bound on how late another
 * process's commit is seen (`read`).
 */
export const READ_SNAPSHOT_AGE_MS_MAX = 2;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

function checkCount(what: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot open store: ${what} ${value} is not an integer >= ${min}`);
  }
  return value;
}

/**
 * An open, migrated connection. Every method is synchronous: node:sqlite blocks the thread, so
 * a transaction never interleaves with another call on the same connection.
 *
 * @example
 * ```ts
 * const connection = new SqliteConnection("./data/worknode.sqlite");
 * connection.transaction(() => connection.statement("SELECT 1").get());
 * connection.close();
 * ```
 */
export class SqliteConnection {
  readonly path: string;
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #arrayStatements = new Map<string, StatementSync>();
  #closed = false;
  /** When the open read snapshot began (`performance.now()`), -1 when none is open. */
  #snapshotStartMs = -1;
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  /** The timer's callback, made once rather than per snapshot. */
  readonly #endSnapshotBound = () => this.#endSnapshot();
  readonly #busyTimeoutMs: number;
  readonly #health: StoreHealth;

  /** Opens `path`; throws one line naming the file when it cannot be opened or migrated. */
  constructor(path: string, options: SqliteConnectionOptions = {}) {
    this.#busyTimeoutMs = checkCount(
      "busyTimeoutMs",
      options.busyTimeoutMs ?? BUSY_TIMEOUT_MS_DEFAULT,
      0,
    );
    const pageCountMax = options.pageCountMax;
    if (pageCountMax !== undefined) checkCount("pageCountMax", pageCountMax, 1);
    this.path = path;
    this.#health = new StoreHealth(`database ${path}`, { log: options.log });
    prepareDatabaseFiles(path);
    try {
      this.#db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    } catch (error) {
      throw new Error(`Cannot open database ${path}: ${reasonOf(error)}`, { cause: error });
    }
    try {
      // busy_timeout first: switching to WAL itself needs a lock another handle may hold.
      this.#db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec("PRAGMA synchronous = FULL");
      if (pageCountMax !== undefined) this.#db.exec(`PRAGMA max_page_count = ${pageCountMax}`);
      this.#migrate();
    } catch (error) {
      this.#db.close();
      throw new Error(`Cannot open database ${path}: ${reasonOf(error)}`, { cause: error });
    }
    try {
      // WAL mode created the WAL and SHM files just now: SQLite gave them the database's mode.
      prepareDatabaseFiles(path);
      removeStaleProbes(path);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #migrate(): void {
    this.transaction(() => {
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

  /** A prepared statement, cached by its text. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * A prepared statement whose rows come back as arrays of column values, cached by its text.
   * node:sqlite builds an object per row otherwise, about a third of a short query's time.
   */
  arrayStatement(sql: string): StatementSync {
    let statement = this.#arrayStatements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      // Present at run time since Deno 2.3, missing from Deno's node:sqlite types.
      const arrays = statement as StatementSync & { setReturnArrays?(enabled: boolean): void };
      if (typeof arrays.setReturnArrays !== "function") {
        throw new TypeError("Cannot prepare a statement: node:sqlite lacks setReturnArrays");
      }
      arrays.setReturnArrays(true);
      this.#arrayStatements.set(sql, statement);
    }
    return statement;
  }

  /** The error a caller gets; a store condition is also recorded (and logged) as a failure. */
  #mapped(error: unknown): unknown {
    const found = sqliteFault(error);
    if (found !== null) this.#health.failed(found, error);
    return toSqliteRpcError(error, found);
  }

  #rollback(): void {
    try {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // SQLite rolls back by itself after a failed I/O; the first error is the one to report.
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
  }

  /** Runs `body` in `BEGIN IMMEDIATE` … `COMMIT`; a commit is a successful write for health. */
  transaction<T>(body: () => T): T {
    this.#checkOpen();
    this.#endSnapshot();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw this.#mapped(error);
    }
    let result: T;
    try {
      result = body();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#rollback();
      throw this.#mapped(error);
    }
    this.#health.succeeded();
    return result;
  }

  /**
   * Runs `body`'s reads in the connection's read snapshot: one consistent snapshot for all of
   * them. A snapshot is shared by every read of the next {@link READ_SNAPSHOT_AGE_MS_MAX} ms
   * instead of one read transaction per call: starting one costs two fcntl locks and an fstat
   * (~9 µs on the benchmark machine, half of a `worknode.get`), reusing it ~0.5 µs. This
   * connection's own writes end the snapshot first, so a read always sees them; another
   * process's commits are seen within {@link READ_SNAPSHOT_AGE_MS_MAX} ms.
   */
  read<T>(body: () => T): T {
    this.#checkOpen();
    try {
      this.#openSnapshot();
      return body();
    } catch (error) {
      // The body's error is the one to report (a COMMIT after it would repeat its message).
      this.#endSnapshot();
      throw this.#mapped(error);
    }
  }

  /** Starts a read snapshot unless a young enough one is open. */
  #openSnapshot(): void {
    const nowMs = performance.now();
    if (this.#snapshotStartMs >= 0) {
      if (nowMs - this.#snapshotStartMs <= READ_SNAPSHOT_AGE_MS_MAX) return;
      // The timer is late (a long synchronous stretch): the age is checked here as well.
      this.#endSnapshot();
    }
    // Deferred: SQLite takes the snapshot at the first read, which follows at once.
    this.#db.exec("BEGIN");
    this.#snapshotStartMs = nowMs;
    const timer = setTimeout(this.#endSnapshotBound, READ_SNAPSHOT_AGE_MS_MAX);
    // An idle process must not be kept alive by an open snapshot.
    Deno.unrefTimer(timer);
    this.#snapshotTimer = timer;
  }

  /** Ends the read snapshot, if one is open (before a write, a probe, at close and on age). */
  #endSnapshot(): void {
    if (this.#snapshotStartMs < 0) return;
    this.#snapshotStartMs = -1;
    clearTimeout(this.#snapshotTimer);
    try {
      this.#db.exec("COMMIT");
    } catch {
      // Nothing was written in it; a failed COMMIT of reads leaves only a rollback to do.
      this.#rollback();
    }
  }

  /** A trivial query: throws `unavailable` when closed. */
  ping(): void {
    this.#checkOpen();
    this.statement("SELECT 1").get();
  }

  /** The write health readiness reports (`health.ts`). */
  health(): Promise<StoreHealthReport> {
    return this.#health.report(async () =>
      this.#probeDatabase() ?? await probeRoomBeside(this.path)
    );
  }

  /**
   * The database half of the write probe: it fails as a write would on a read-only file or a
   * database at its page cap. Another handle holding the write lock is not a fault: writes
   * wait for it (busy_timeout), they do not fail.
   */
  #probeDatabase(): StoreFault | null {
    if (this.#closed) {
      return { rpcCode: "unavailable", problem: "the store is closed", sticky: false };
    }
    this.#endSnapshot();
    try {
      this.#db.exec(`PRAGMA busy_timeout = ${PROBE_BUSY_TIMEOUT_MS}`);
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        this.statement("INSERT INTO write_probe (pad) VALUES (zeroblob(?))")
          .run(WRITE_PROBE_DATABASE_BYTES);
      } finally {
        this.#rollback();
      }
      return null;
    } catch (error) {
      if (isSqliteBusy(error)) return null;
      const found = sqliteFault(error);
      if (found === null) throw error;
      return found;
    } finally {
      this.#db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
    }
  }

  /** The durability settings in force (journal mode, synchronous level, busy timeout). */
  settings(): { journalMode: string; synchronous: number; busyTimeoutMs: number } {
    const read = (name: string) => Object.values(this.#db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
    return {
      journalMode: String(read("journal_mode")),
      synchronous: Number(read("synchronous")),
      busyTimeoutMs: Number(read("busy_timeout")),
    };
  }

  /** Closes the connection; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#endSnapshot();
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}
