/**
 * Seeds the store of the HTTP store benchmark (`bench/store_http_bench.sh`) before the real
 * service (`main.ts`) starts on it: `COUNT` worknodes `b-00000`.. of 16 properties (64-byte
 * values). For PostgreSQL it first drops the bench schema (`?schema=wn_http_bench` in the URL), so
 * every run starts empty; `--drop` only drops it (the script's cleanup).
 *
 * Usage: `deno run -A bench/store_http_seed.ts sqlite|postgres://...?schema=S DATA_DIR COUNT`
 * or `deno run -A bench/store_http_seed.ts postgres://...?schema=S --drop`.
 *
 * @module
 */

import { openStore, type Store } from "../store/mod.ts";
import { PostgresStore } from "../store/postgres.ts";

async function dropIfPostgres(store: Store): Promise<boolean> {
  if (!(store instanceof PostgresStore)) return false;
  await store.dropSchemaAndClose();
  return true;
}

async function main(): Promise<void> {
  const [spec, dataDir, countText] = Deno.args;
  if (dataDir === "--drop") {
    await dropIfPostgres(await openStore(spec, { dataDir: "." }));
    return;
  }
  const count = Number(countText);
  if (!spec || !dataDir || !Number.isSafeInteger(count) || count < 1 || count > 99_999) {
    throw new TypeError("usage: store_http_seed.ts STORE DATA_DIR COUNT | STORE --drop");
  }
  let store = await openStore(spec, { dataDir });
  if (await dropIfPostgres(store)) store = await openStore(spec, { dataDir });
  const properties = Array.from({ length: 16 }, (_, i) => ({
    key: `key-${i}`,
    value: "v".repeat(64),
  }));
  try {
    for (let i = 0; i < count; i++) {
      await store.create({ kind: "bench", properties, id: `b-${String(i).padStart(5, "0")}` });
    }
  } finally {
    await store.close();
  }
}

if (import.meta.main) await main();
