/**
 * The shared store: PostgreSQL through `npm:postgres`, for many service instances behind a load
 * balancer.
 *
 * Migrations run at start inside one transaction holding `pg_advisory_xact_lock`, so two
 * instances starting together apply each migration exactly once (the second waits, then sees the
 * recorded version). Writes are version-checked `UPDATE ... WHERE version = $n` (row locks make
 * concurrent updates of one worknode serialize and all but one see a changed version); glue
 * locks both rows `FOR UPDATE` in id order first, so two glues of the same pair cannot deadlock.
 * Errors that mean "the database is unreachable" become `RpcError("unavailable")`.
 *
 * @module
 */

import postgres from "postgres";
import { RpcError } from "../rpc/errors.ts";
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
  staleVersion,
  tooManyProperties,
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
type Tx = postgres.TransactionSql;

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
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Connection-level failures reported by the driver (not SQLSTATEs). */
const DRIVER_UNAVAILABLE_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

/** SQLSTATEs that mean the server cannot serve us now (class 08, shutdown, recovery). */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" ||
    code === "53300";
}

/** Maps driver and server errors to RpcErrors where the meaning is clear. */
function mapPgError(error: unknown): unknown {
  if (error instanceof RpcError) return error;
  const code = String((error as { code?: unknown }).code ?? "");
  if (DRIVER_UNAVAILABLE_CODES.has(code) || isUnavailableSqlState(code)) {
    return new RpcError("unavailable", `Cannot reach the store: ${code}`, { cause: error });
  }
  if (code === "40001" || code === "40P01") {
    return new RpcError("aborted", `Cannot complete the transaction: ${code}, retry`, {
      cause: error,
    });
  }
  return error;
}

interface WorknodeRow {
  id: string;
  kind: string;
  version: string | number;
  created_at_ms: string | number;
  updated_at_ms: string | number;
}

function toWorknode(row: WorknodeRow, properties: Property[]): Worknode {
  return {
    id: row.id,
    kind: row.kind,
    properties,
    version: Number(row.version),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

/** The PostgreSQL implementation of `Store`. Open it with `openPostgresStore`. */
export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  readonly schema: string;
  #sql: Sql;
  #closed = false;
  #closeTimeoutSeconds: number;

  constructor(sql: Sql, schema: string, closeTimeoutSeconds = 5) {
    this.#sql = sql;
    this.schema = schema;
    this.#closeTimeoutSeconds = closeTimeoutSeconds;
  }

  async #op<T>(body: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new RpcError("unavailable", "Cannot use the store: it is closed");
    try {
      return await body();
    } catch (error) {
      throw mapPgError(error);
    }
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

  async #bumpVersion(tx: Tx, id: string, expectedVersion: number, nowMs: number) {
    const bumped = await tx`UPDATE worknodes SET version = version + 1, updated_at_ms = ${nowMs}
      WHERE id = ${id} AND version = ${expectedVersion} RETURNING version`;
    if (bumped.length === 1) return Number(bumped[0].version);
    const rows = await tx`SELECT version FROM worknodes WHERE id = ${id}`;
    if (rows.length === 0) throw notFound(id);
    throw staleVersion(id, expectedVersion, Number(rows[0].version));
  }

  async #upsertProperties(tx: Tx, id: string, properties: readonly Property[]) {
    if (properties.length === 0) return;
    const keys = properties.map((p) => p.key);
    const values = properties.map((p) => p.value);
    await tx`INSERT INTO properties (worknode_id, key, value)
      SELECT ${id}, k, v FROM unnest(${keys}::text[], ${values}::text[]) AS t (k, v)
      ON CONFLICT (worknode_id, key) DO UPDATE SET value = EXCLUDED.value`;
  }

  async #checkPropertyCount(tx: Tx, id: string) {
    const [row] = await tx`SELECT count(*) AS n FROM properties WHERE worknode_id = ${id}`;
    const count = Number(row.n);
    if (count > DOMAIN_LIMITS.propertiesPerWorknodeMax) throw tooManyProperties(id, count);
  }

  async #values(tx: Sql | Tx, id: string, keys: string[]): Promise<Map<string, string>> {
    const rows = await tx`SELECT key, value FROM properties
      WHERE worknode_id = ${id} AND key = ANY(${keys}::text[])`;
    return new Map(rows.map((row) => [row.key as string, row.value as string]));
  }

  create(input: CreateInput): Promise<{ id: string; version: number }> {
    return this.#op(async () => {
      const { id, kind } = checkCreate(input);
      const nowMs = Date.now();
      return await this.#sql.begin(async (tx) => {
        const inserted = await tx`INSERT INTO worknodes
          (id, kind, version, created_at_ms, updated_at_ms)
          VALUES (${id}, ${kind}, 1, ${nowMs}, ${nowMs})
          ON CONFLICT (id) DO NOTHING RETURNING version`;
        if (inserted.length === 0) throw alreadyExists(id);
        await this.#upsertProperties(tx, id, input.properties);
        return { id, version: 1 };
      });
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
    return this.#op(async () => {
      checkUpdate(input);
      const nowMs = Date.now();
      return await this.#sql.begin(async (tx) => {
        const version = await this.#bumpVersion(tx, input.id, input.expectedVersion, nowMs);
        await this.#upsertProperties(tx, input.id, input.set);
        if (input.remove.length > 0) {
          await tx`DELETE FROM properties
            WHERE worknode_id = ${input.id} AND key = ANY(${input.remove as string[]}::text[])`;
        }
        if (input.set.length > 0) await this.#checkPropertyCount(tx, input.id);
        return { version };
      });
    });
  }

  delete(input: DeleteInput): Promise<void> {
    return this.#op(async () => {
      checkDelete(input);
      await this.#sql.begin(async (tx) => {
        const deleted = await tx`DELETE FROM worknodes
          WHERE id = ${input.id} AND version = ${input.expectedVersion} RETURNING id`;
        if (deleted.length === 1) return;
        const rows = await tx`SELECT version FROM worknodes WHERE id = ${input.id}`;
        if (rows.length === 0) throw notFound(input.id);
        throw staleVersion(input.id, input.expectedVersion, Number(rows[0].version));
      });
    });
  }

  list(input: ListInput): Promise<ListPage> {
    return this.#op(async () => {
      const { kind, afterId, limit, bytesMax } = checkList(input);
      return await this.#sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
        const rows = (kind === ""
          ? await tx`SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
              WHERE id > ${afterId} ORDER BY id LIMIT ${limit + 1}`
          : await tx`SELECT id, kind, version, created_at_ms, updated_at_ms FROM worknodes
              WHERE kind = ${kind} AND id > ${afterId} ORDER BY id LIMIT ${
            limit + 1
          }`) as unknown as WorknodeRow[];
        const candidates = rows.slice(0, limit).map((row) =>
          row.id
        );
        const sizes = await tx`SELECT worknode_id, count(*) AS n,
            sum(octet_length(key) + octet_length(value)) AS bytes
          FROM properties WHERE worknode_id = ANY(${candidates}::text[]) GROUP BY worknode_id`;
        const fitting = pageCountFitting(
          candidates,
          new Map(
            sizes.map((r) => [r.worknode_id, { count: Number(r.n), bytes: Number(r.bytes) }]),
          ),
          bytesMax,
        );
        const more = rows.length > fitting;
        const page = rows.slice(0, fitting);
        const byId = new Map<string, Property[]>(page.map((row) => [row.id, []]));
        if (page.length > 0) {
          const ids = page.map((row) => row.id);
          const props = await tx`SELECT worknode_id, key, value FROM properties
            WHERE worknode_id = ANY(${ids}::text[]) ORDER BY worknode_id, key`;
          for (const p of props) byId.get(p.worknode_id)?.push({ key: p.key, value: p.value });
        }
        return {
          worknodes: page.map((row) => toWorknode(row, byId.get(row.id) ?? [])),
          nextCursor: more ? encodeCursor(page[page.length - 1].id) : "",
        };
      });
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
    return this.#op(async () => {
      checkGlue(input);
      const keys = input.properties.map((p) => p.key);
      const nowMs = Date.now();
      return await this.#sql.begin(async (tx) => {
        // Lock both rows in id order first, so concurrent glues of one pair cannot deadlock.
        await tx`SELECT id FROM worknodes WHERE id IN (${input.a}, ${input.b})
          ORDER BY id FOR UPDATE`;
        const versionA = await this.#bumpVersion(tx, input.a, input.expectedVersionA, nowMs);
        const versionB = await this.#bumpVersion(tx, input.b, input.expectedVersionB, nowMs);
        if (!input.resolve) {
          const a = await this.#values(tx, input.a, keys);
          const b = await this.#values(tx, input.b, keys);
          const conflicts = gluingConflicts(a, b, input.properties);
          if (conflicts.length > 0) throw gluingRefused(input, conflicts);
        }
        for (const id of [input.a, input.b]) {
          await this.#upsertProperties(tx, id, input.properties);
          if (input.properties.length > 0) await this.#checkPropertyCount(tx, id);
        }
        return { versionA, versionB };
      });
    });
  }

  ping(): Promise<void> {
    return this.#op(async () => {
      await this.#sql`SELECT 1`;
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
 * Connects to PostgreSQL at `url` and applies pending migrations in `options.schema`
 * (default `public`).
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
  const schema = options.schema ?? "public";
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new RangeError(`Cannot open store: schema ${JSON.stringify(schema)} is not [a-z_0-9]`);
  }
  const sql = postgres(url, {
    max: options.connectionsMax ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    onnotice: () => {},
    // The application name carries the schema, so operators (and tests) can find our sessions.
    connection: { search_path: schema, application_name: `worknode:${schema}` },
  });
  const store = new PostgresStore(sql, schema, options.closeTimeoutSeconds);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
