/**
 * The shared store: PostgreSQL through `npm:postgres`, for many service instances behind a load
 * balancer.
 *
 * Migrations run at start inside one transaction holding `pg_advisory_xact_lock`, so two
 * instances starting together apply each migration exactly once (the second waits, then sees the
 * recorded version). Writes are version-checked `UPDATE ... WHERE version = $n` (row locks make
 * concurrent updates of one worknode serialize and all but one see a changed version); glue
 * locks both rows `FOR UPDATE` in id order first, so two glues of the same pair cannot deadlock.
 * Errors that mean "the database is unreachable" become `RpcError("unavailable")`; the server's
 * own conditions (disk full, read-only, corruption) are recorded for readiness (`health.ts`,
 * `_pg_faults.ts`), whose write probe is `wn_probe_write()`: an insert always rolled back.
 * Create and delete are functions too (`wn_create`, `wn_delete`): deletes leave tombstones
 * (`tombstones.ts`), so versions never go backwards for an id.
 *
 * @module
 */

import postgres from "postgres";
import { RpcError } from "../errors/rpc_error.ts";
import { checkOverlap, gluingConflicts, type OverlapVerdict } from "../domain/sheaf.ts";
import { DOMAIN_LIMITS, type Property, validateName } from "../domain/limits.ts";
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from "./migrations.ts";
import { type StoreFault, StoreHealth, type StoreHealthReport } from "./health.ts";
import { isPgUnreachable, mapPgError, pgFault } from "./_pg_faults.ts";
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
  PROPERTY_OVERHEAD_BYTES,
  staleVersion,
  toWorknode,
  WORKNODE_OVERHEAD_BYTES,
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

type Sql = postgres.Sql;

/** Options of `openPostgresStore`. */
export interface PostgresStoreOptions {
  /** The schema holding the tables (created if missing); tests use one per run. */
  readonly schema?: string;
  /** Connections in the pool. */
  readonly connectionsMax?: number;
  /** Seconds to wait for a connection before `unavailable`. */
  readonly connectTimeoutSeconds?: number;
  /** Seconds `close` lets running queries finish before it destroys the connections. */
  readonly closeTimeoutSeconds?: number;
  /** Tombstones kept before the oldest are purged; default 65,536 (`tombstones.ts`). */
  readonly tombstonesMax?: number;
  /** Where store-condition lines go; default stderr. */
  readonly log?: (line: string) => void;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** The PostgreSQL implementation of `Store`. Open it with `openPostgresStore`. */
export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  readonly schema: string;
  #sql: Sql;
  #closed = false;
  #closeTimeoutSeconds: number;
  readonly #tombstonesMax: number;
  readonly #health: StoreHealth;

  /** `where` names the database in log lines (host, port, database; never the password). */
  constructor(sql: Sql, schema: string, options: PostgresStoreOptions & { where?: string } = {}) {
    this.#sql = sql;
    this.schema = schema;
    this.#closeTimeoutSeconds = options.closeTimeoutSeconds ?? 5;
    this.#tombstonesMax = checkTombstonesMax(options.tombstonesMax);
    const where = options.where ?? "PostgreSQL";
    this.#health = new StoreHealth(`database ${where} schema ${schema}`, { log: options.log });
  }

  async #op<T>(body: () => Promise<T>, id = ""): Promise<T> {
    if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
    try {
      return await body();
    } catch (error) {
      const found = pgFault(error);
      if (found !== null) this.#health.failed(found, error);
      throw mapPgError(error, id, found);
    }
  }

  /** A write: as `#op`, and a statement that completed is a successful write for health. */
  async #write<T>(body: () => Promise<T>, id = ""): Promise<T> {
    const result = await this.#op(body, id);
    this.#health.succeeded();
    return result;
  }

  /** Applies pending migrations under an advisory lock (see the module comment). */
  migrate(): Promise<void> {
    return this.#op(async () => {
      await this.#sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtext(${"worknode-migrations:" + this.schema}))`;
        await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
        await tx.unsafe(MIGRATIONS_TABLE_SQL.postgres);
        const [row] = await tx`SELECT coalesce(max(version), 0) AS v FROM schema_migrations`;
        const current = Number(row.v);
        for (const migration of MIGRATIONS) {
          if (migration.version <= current) continue;
          for (const statement of migration.postgres) await tx.unsafe(statement);
          await tx`INSERT INTO schema_migrations (version, name, applied_at_ms)
                   VALUES (${migration.version}, ${migration.name}, ${Date.now()})`;
        }
      });
    });
  }

  create(input: CreateInput): Promise<{ id: string; version: number }> {
    return this.#write(async () => {
      const { id, kind } = checkCreate(input);
      const keys = input.properties.map((p) => p.key);
      const values = input.properties.map((p) => p.value);
      const [row] = await this.#sql`SELECT wn_create(${id}, ${kind}, ${Date.now()},
        ${keys}::text[], ${values}::text[]) AS version`;
      if (row.version === null) throw alreadyExists(id);
      return { id, version: Number(row.version) };
    });
  }

  get(id: string): Promise<Worknode> {
    return this.#op(async () => {
      validateName("id", id);
      // One statement, so the row and its properties come from one snapshot.
      const rows = await this.#sql`SELECT w.id, w.kind, w.version, w.created_at_ms,
          w.updated_at_ms, p.key, p.value
        FROM worknodes w LEFT JOIN properties p ON p.worknode_id = w.id
        WHERE w.id = ${id} ORDER BY p.key`;
      if (rows.length === 0) throw notFound(id);
      const properties = rows[0].key === null
        ? []
        : rows.map((row) => ({ key: row.key as string, value: row.value as string }));
      return toWorknode(rows[0] as unknown as WorknodeRow, properties);
    });
  }

  update(input: UpdateInput): Promise<{ version: number }> {
    return this.#write(async () => {
      checkUpdate(input);
      const keys = input.set.map((p) => p.key);
      const values = input.set.map((p) => p.value);
      const [row] = await this.#sql`SELECT outcome, new_version FROM wn_update(
        ${input.id}, ${input.expectedVersion}, ${Date.now()}, ${keys}::text[], ${values}::text[],
        ${input.remove as string[]}::text[], ${DOMAIN_LIMITS.propertiesPerWorknodeMax})`;
      if (row.outcome === "not_found") throw notFound(input.id);
      if (row.outcome === "stale") {
        throw staleVersion(input.id, input.expectedVersion, Number(row.new_version));
      }
      return { version: Number(row.new_version) };
    }, input.id);
  }

  delete(input: DeleteInput): Promise<void> {
    return this.#write(async () => {
      checkDelete(input);
      const [row] = await this.#sql`SELECT outcome, current_version FROM wn_delete(
        ${input.id}, ${input.expectedVersion}, ${Date.now()}, ${this.#tombstonesMax},
        ${purgeBatch(this.#tombstonesMax)})`;
      if (row.outcome === "not_found") throw notFound(input.id);
      if (row.outcome === "stale") {
        throw staleVersion(input.id, input.expectedVersion, Number(row.current_version));
      }
    }, input.id);
  }

  list(input: ListInput): Promise<ListPage> {
    return this.#op(async () => {
      const { kind, afterId, limit, bytesMax } = checkList(input);
      const byKind = kind === "" ? this.#sql`` : this.#sql`AND kind = ${kind}`;
      // One statement (one snapshot): the page, the size of each worknode's properties summed
      // before any is loaded, the prefix that fits bytesMax (at least one), its properties.
      const rows = await this.#sql`WITH page AS (
          SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
          WHERE id > ${afterId} ${byKind} ORDER BY id LIMIT ${limit + 1}
        ), sized AS (
          SELECT p.*, count(*) OVER () AS page_rows,
            row_number() OVER (ORDER BY p.id) AS rn,
            sum(${WORKNODE_OVERHEAD_BYTES} + coalesce(s.bytes, 0)
              + ${PROPERTY_OVERHEAD_BYTES} * s.n) OVER (ORDER BY p.id) AS running_bytes
          FROM page p CROSS JOIN LATERAL (
            SELECT sum(octet_length(key) + octet_length(value)) AS bytes, count(*) AS n
            FROM properties WHERE worknode_id = p.id
          ) s
        ), kept AS (
          SELECT * FROM sized
          WHERE rn <= ${limit} AND (rn = 1 OR running_bytes <= ${bytesMax})
        )
        SELECT k.id, k.kind, k.version, k.created_at_ms, k.updated_at_ms, k.page_rows,
          (SELECT count(*) FROM kept) AS kept_rows, pr.key, pr.value
        FROM kept k LEFT JOIN properties pr ON pr.worknode_id = k.id
        ORDER BY k.id, pr.key`;
      const worknodes: Worknode[] = [];
      let properties: Property[] = [];
      for (const row of rows) {
        if (worknodes.length === 0 || worknodes[worknodes.length - 1].id !== row.id) {
          properties = [];
          worknodes.push(toWorknode(row as unknown as WorknodeRow, properties));
        }
        if (row.key !== null) properties.push({ key: row.key, value: row.value });
      }
      const more = rows.length > 0 && Number(rows[0].page_rows) > Number(rows[0].kept_rows);
      return {
        worknodes,
        nextCursor: more ? encodeCursor(worknodes[worknodes.length - 1].id) : "",
      };
    });
  }

  overlap(input: OverlapInput): Promise<OverlapVerdict> {
    return this.#op(async () => {
      checkOverlapInput(input);
      const keys = input.properties.map((p) => p.key);
      // One statement: one snapshot of both worknodes and one round trip.
      const rows = await this.#sql`SELECT w.id, p.key, p.value FROM worknodes w
        LEFT JOIN properties p ON p.worknode_id = w.id AND p.key = ANY(${keys}::text[])
        WHERE w.id IN (${input.a}, ${input.b})`;
      const a = new Map<string, string>();
      const b = new Map<string, string>();
      const found = new Set<string>();
      for (const row of rows) {
        found.add(row.id);
        if (row.key === null) continue;
        if (row.id === input.a) a.set(row.key, row.value);
        if (row.id === input.b) b.set(row.key, row.value);
      }
      for (const id of [input.a, input.b]) if (!found.has(id)) throw notFound(id);
      return checkOverlap(a, b, input.properties);
    });
  }

  glue(input: GlueInput): Promise<GlueResult> {
    return this.#write(async () => {
      checkGlue(input);
      const keys = input.properties.map((p) => p.key);
      const values = input.properties.map((p) => p.value);
      const [row] = await this.#sql`SELECT outcome, version_a, version_b, values_a, values_b
        FROM wn_glue(${input.a}, ${input.b}, ${input.expectedVersionA},
          ${input.expectedVersionB}, ${Date.now()}, ${keys}::text[], ${values}::text[],
          ${input.resolve}, ${DOMAIN_LIMITS.propertiesPerWorknodeMax})`;
      if (row.outcome === "not_found_a") throw notFound(input.a);
      if (row.outcome === "not_found_b") throw notFound(input.b);
      if (row.outcome === "stale") {
        const [id, expected, current] = Number(row.version_a) !== input.expectedVersionA
          ? [input.a, input.expectedVersionA, Number(row.version_a)]
          : [input.b, input.expectedVersionB, Number(row.version_b)];
        throw staleVersion(id, expected, current);
      }
      if (row.outcome === "conflict") {
        const a = new Map(Object.entries(row.values_a as Record<string, string>));
        const b = new Map(Object.entries(row.values_b as Record<string, string>));
        throw gluingRefused(input, gluingConflicts(a, b, input.properties));
      }
      return { versionA: Number(row.version_a), versionB: Number(row.version_b) };
    });
  }

  ping(): Promise<void> {
    return this.#op(async () => {
      await this.#sql`SELECT 1`;
    });
  }

  health(): Promise<StoreHealthReport> {
    return this.#health.report(() => this.#probeWrite());
  }

  /** The write probe: one statement, an insert always rolled back (see wn_probe_write). */
  async #probeWrite(): Promise<StoreFault | null> {
    if (this.#closed) {
      return { rpcCode: "unavailable", problem: "the store is closed", sticky: false };
    }
    try {
      await this.#sql`SELECT wn_probe_write()`;
      return null;
    } catch (error) {
      const found = pgFault(error);
      if (found !== null) return found;
      if (!isPgUnreachable(error)) throw error;
      const code = String((error as { code?: unknown }).code);
      return {
        rpcCode: "unavailable",
        problem: `the database is unreachable (${code})`,
        sticky: false,
      };
    }
  }

  /** How many tombstones are kept and the version floor (diagnostics, tests). */
  tombstoneStats(): Promise<{ count: number; versionFloor: number }> {
    return this.#op(async () => {
      const [row] = await this.#sql`SELECT (SELECT count(*) FROM tombstones) AS count,
        (SELECT version FROM version_floor) AS floor`;
      return { count: Number(row.count), versionFloor: Number(row.floor) };
    });
  }

  /** Drops this store's schema with everything in it (tests only), then closes. */
  async dropSchemaAndClose(): Promise<void> {
    await this.#op(() => this.#sql.unsafe(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: this.#closeTimeoutSeconds });
  }
}

/**
 * Connects to PostgreSQL at `url` and applies pending migrations in `options.schema`, else the
 * URL's `schema` query parameter, else `public`.
 *
 * @example
 * ```ts
 * const store = await openPostgresStore("postgres://worknode:worknode@127.0.0.1:5432/worknode");
 * await store.ping();
 * await store.close();
 * ```
 */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new TypeError(`Cannot open store: ${JSON.stringify(url)} is not a postgres:// URL`);
  }
  // A `schema` query parameter names the schema (e.g. `--store postgres://...?schema=tenant_a`);
  // it is ours, not a server parameter, so it leaves the URL before the driver sees it.
  const parsed = new URL(url);
  const schemaInUrl = parsed.searchParams.get("schema");
  parsed.searchParams.delete("schema");
  const driverUrl = schemaInUrl === null ? url : parsed.href;
  const schema = options.schema ?? schemaInUrl ?? "public";
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new RangeError(`Cannot open store: schema ${JSON.stringify(schema)} is not [a-z_0-9]`);
  }
  const sql = postgres(driverUrl, {
    max: options.connectionsMax ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    // Reconnect delay after failed connects: the driver's default grows 3^n/100 s up to 20 s
    // over a counter shared by every connection, so after PostgreSQL comes back a query could
    // wait ~20 s (a 504 at the call's deadline; tests/stress_pg_fault_test.ts). Capped at 1 s.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 1),
    // The application name carries the schema, so operators (and tests) can find our sessions.
    connection: { search_path: schema, application_name: `worknode:${schema}` },
  });
  const where = `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  const store = new PostgresStore(sql, schema, { ...options, where });
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
