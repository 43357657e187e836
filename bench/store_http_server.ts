/**
 * A service for the HTTP store benchmark (`bench/store_http_bench.sh`): the real `startService`
 * with a real pool, plaintext HTTP/1.1 on a free port, over the store given as the first
 * argument (`sqlite` or a `postgres://` URL), seeded with `WORKNODE_COUNT` worknodes
 * `b-00000`.. of 16 properties. Prints `{"port":N}` when ready; exits on SIGTERM.
 *
 * Usage: `deno run -A --unstable-net bench/store_http_server.ts sqlite|postgres://... WORKNODE_COUNT`
 *
 * @module
 */

import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import type { PoolPlanLike } from "../rpc/method.ts";
import { startService } from "../server/service.ts";
import { openPostgresStore, openSqliteStore, type Store } from "../store/mod.ts";

const CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 512 },
  { blockSizeBytes: 65536, blockCount: 32 },
  { blockSizeBytes: 1024 * 1024, blockCount: 4 },
];
const SCHEMA = "wn_http_bench";

async function openBenchStore(spec: string, dataDir: string): Promise<Store> {
  if (spec === "sqlite") return await openSqliteStore(dataDir);
  const store = await openPostgresStore(spec, { schema: SCHEMA });
  // Start from an empty schema on every run, so the seed ids are free.
  await store.dropSchemaAndClose();
  return await openPostgresStore(spec, { schema: SCHEMA });
}

async function seed(store: Store, count: number): Promise<void> {
  const properties = Array.from(
    { length: 16 },
    (_, i) => ({ key: `key-${i}`, value: "v".repeat(64) }),
  );
  for (let i = 0; i < count; i++) {
    await store.create({ kind: "bench", properties, id: `b-${String(i).padStart(5, "0")}` });
  }
}

async function main(): Promise<void> {
  const [spec, countText] = Deno.args;
  const count = Number(countText);
  if (!spec || !Number.isSafeInteger(count) || count < 1 || count > 99_999) {
    throw new TypeError("usage: store_http_server.ts sqlite|postgres://... WORKNODE_COUNT");
  }
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-http-bench-" });
  const store = await openBenchStore(spec, dataDir);
  await seed(store, count);
  const pool = Pool.open(CLASSES, { prefault: true });
  const plan: PoolPlanLike = {
    classes: CLASSES,
    totalBytes: CLASSES.reduce((n, c) => n + c.blockSizeBytes * c.blockCount, 0),
    maxPropertiesPerOverlap: 128,
    messageBytesMax: CLASSES[CLASSES.length - 1].blockSizeBytes,
    profile: "bench",
  };
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: 10_000,
  };
  const svc = await startService(config, plan, { pool, store, quiet: true });
  console.log(JSON.stringify({ port: svc.plaintextPort }));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  await svc.shutdown();
  pool.close();
  if (store instanceof Object && "dropSchemaAndClose" in store) {
    await (store as { dropSchemaAndClose(): Promise<void> }).dropSchemaAndClose();
  } else await store.close();
  await Deno.remove(dataDir, { recursive: true });
  Deno.exit(0);
}

if (import.meta.main) await main();
