/**
 * Fresh stores for the store tests: a SQLite file in a new temporary directory, or a PostgreSQL
 * schema of its own per call (so runs never see each other's data). PostgreSQL tests FAIL when
 * `WORKNODE_TEST_PG_URL` is unset or the server is unreachable; they are never skipped.
 *
 * @module
 */

import { openSqliteStore, type Store, type StoreKind } from "../store/mod.ts";
import { openPostgresStore } from "../store/postgres.ts";

/** Both store kinds, for parametrized suites. */
export const STORE_KINDS: readonly StoreKind[] = ["sqlite", "postgres"];

/** A fresh store plus what reopening it (another handle) and cleaning it up need. */
export interface FreshStore {
  readonly store: Store;
  /** `--store` spec and options that reach the same data (a data dir or a URL + schema). */
  readonly spec: { kind: StoreKind; dataDir: string; url: string; schema: string };
  /** Opens another handle on the same data. */
  reopen(): Promise<Store>;
  /** Closes the store and removes its data. */
  cleanup(): Promise<void>;
}

/** The PostgreSQL test URL, or a thrown error explaining how to provide it. */
export function pgTestUrl(): string {
  const url = Deno.env.get("WORKNODE_TEST_PG_URL");
  if (url === undefined || url === "") {
    throw new Error(
      "WORKNODE_TEST_PG_URL is not set: start PostgreSQL with " +
        "`bash -c '. scripts/ensure_deps.sh; ensure_postgres'` and export " +
        "WORKNODE_TEST_PG_URL=postgres://worknode:worknode@127.0.0.1:5432/worknode",
    );
  }
  return url;
}

let schemaCounter = 0;

/** A schema name unique to this process and call. */
export function uniqueSchema(): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return `wn_test_${Deno.pid}_${schemaCounter++}_${random}`;
}

/** Options of a fresh store (both kinds). */
export interface FreshStoreOptions {
  /** Tombstones kept before the oldest are purged (store/tombstones.ts). */
  readonly tombstonesMax?: number;
}

/**
 * Opens a fresh, empty store of `kind`.
 *
 * @example
 * ```ts
 * const fresh = await openFreshStore("sqlite");
 * await fresh.store.create({ kind: "k", properties: [] });
 * await fresh.cleanup();
 * ```
 */
export async function openFreshStore(
  kind: StoreKind,
  options: FreshStoreOptions = {},
): Promise<FreshStore> {
  if (kind === "sqlite") {
    const dataDir = await Deno.makeTempDir({ prefix: "worknode-store-test-" });
    const store = await openSqliteStore(dataDir, options);
    return {
      store,
      spec: { kind, dataDir, url: "", schema: "" },
      reopen: () => openSqliteStore(dataDir, options),
      cleanup: async () => {
        await store.close();
        await Deno.remove(dataDir, { recursive: true });
      },
    };
  }
  const url = pgTestUrl();
  const schema = uniqueSchema();
  const pgOptions = { schema, connectTimeoutSeconds: 5, ...options };
  const store = await openPostgresStore(url, pgOptions);
  return {
    store,
    spec: { kind, dataDir: "", url, schema },
    reopen: () => openPostgresStore(url, pgOptions),
    cleanup: () => store.dropSchemaAndClose(),
  };
}
