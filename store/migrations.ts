/**
 * The schema migrations of both stores, in order. A migration is applied once, recorded in the
 * `schema_migrations` table with its version, inside the same transaction as its statements.
 *
 * Schema choice: one row per worknode plus one row per property (`properties`, primary key
 * `(worknode_id, key)`), not a JSON column. An update then touches only the keys it sets or
 * removes (a worknode may hold 4096 properties of 8 KiB, i.e. up to 32 MiB, which a JSON column
 * would rewrite on every update), and a sheaf overlap reads only its keys through the primary
 * key. Ids and keys compare bytewise in both databases (`COLLATE "C"` in PostgreSQL, SQLite's
 * default BINARY), so list order and cursors are the same on both stores.
 *
 * @module
 */

/** One migration with its statements for each dialect. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

/** The table that records applied migrations (created before any migration runs). */
export const MIGRATIONS_TABLE_SQL = {
  sqlite: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`,
  postgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`,
} as const;

/** Every migration, in ascending version order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "worknodes and properties",
    sqlite: [
      `CREATE TABLE worknodes (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID`,
      `CREATE INDEX worknodes_kind_id ON worknodes (kind, id)`,
      `CREATE TABLE properties (
        worknode_id TEXT NOT NULL REFERENCES worknodes (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (worknode_id, key)
      )`,
    ],
    postgres: [
      `CREATE TABLE worknodes (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT COLLATE "C" NOT NULL,
        version BIGINT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE INDEX worknodes_kind_id ON worknodes (kind, id)`,
      `CREATE TABLE properties (
        worknode_id TEXT COLLATE "C" NOT NULL REFERENCES worknodes (id) ON DELETE CASCADE,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (worknode_id, key)
      )`,
    ],
  },
];
