/**
 * The store's public face: the `Store` contract and `openStore`, which picks the implementation
 * from the `--store` flag (`sqlite` or empty: embedded SQLite in the data directory;
 * `postgres://...`: PostgreSQL). The PostgreSQL driver is loaded only when a `postgres://` store
 * is opened (import it from `store/postgres.ts`): an embedded-SQLite service does not carry
 * the driver's ~8-10 MiB of resident memory (measured: RSS after import, gc'd).
 *
 * @module
 */

import { openSqliteStore } from "./sqlite.ts";
import type { Store } from "./types.ts";

export type * from "./types.ts";
export { openSqliteStore, SQLITE_FILE_NAME, SqliteStore } from "./sqlite.ts";

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Where the SQLite file lives (ignored for PostgreSQL). */
  readonly dataDir: string;
  /** PostgreSQL schema (default `public`). */
  readonly schema?: string;
}

/**
 * Opens the store named by `spec`: `""` or `"sqlite"` for SQLite under `dataDir`, or a
 * `postgres://` / `postgresql://` URL. Migrations are applied before it resolves.
 *
 * @example
 * ```ts
 * const store = await openStore("sqlite", { dataDir: "./data" });
 * await store.ping();
 * await store.close();
 * ```
 */
export async function openStore(spec: string, options: OpenStoreOptions): Promise<Store> {
  if (spec === "" || spec === "sqlite") return await openSqliteStore(options.dataDir);
  if (spec.startsWith("postgres://") || spec.startsWith("postgresql://")) {
    const { openPostgresStore } = await import("./postgres.ts");
    return await openPostgresStore(spec, { schema: options.schema });
  }
  throw new TypeError(
    `Cannot open store: ${JSON.stringify(spec)} is neither "sqlite" nor a postgres:// URL`,
  );
}
