/**
 * The real service (`startService`, real pool, plaintext HTTP/1.1 on a free port) over a store
 * named by the arguments, in a child process, for the durability test over HTTP. Prints
 * `{"port":N}` when it listens; stops on SIGTERM (the test SIGKILLs it instead).
 *
 * Usage: `deno run -A tests/store_service_child.ts sqlite DATA_DIR`
 * or `deno run -A tests/store_service_child.ts postgres URL SCHEMA DATA_DIR`.
 *
 * @module
 */

import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import type { PoolPlanLike } from "../rpc/method.ts";
import { startService } from "../server/service.ts";
import { openPostgresStore, openSqliteStore, type Store } from "../store/mod.ts";

const CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 64 },
  { blockSizeBytes: 65536, blockCount: 8 },
];

async function openFromArgs(args: string[]): Promise<{ store: Store; dataDir: string }> {
  if (args[0] === "sqlite" && args[1]) {
    return { store: await openSqliteStore(args[1]), dataDir: args[1] };
  }
  if (args[0] === "postgres" && args[1] && args[2] && args[3]) {
    return { store: await openPostgresStore(args[1], { schema: args[2] }), dataDir: args[3] };
  }
  throw new TypeError(`Cannot start: bad arguments ${JSON.stringify(args)}`);
}

async function main(): Promise<void> {
  const { store, dataDir } = await openFromArgs(Deno.args);
  const pool = Pool.open(CLASSES);
  const plan: PoolPlanLike = {
    classes: CLASSES,
    totalBytes: CLASSES.reduce((n, c) => n + c.blockSizeBytes * c.blockCount, 0),
    maxPropertiesPerOverlap: 128,
    messageBytesMax: CLASSES[CLASSES.length - 1].blockSizeBytes,
    profile: "test",
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
  await store.close();
  Deno.exit(0);
}

if (import.meta.main) await main();
