/**
 * The real service in a child process for the stress tests and the overload bench: the boot plan
 * for `poolBytes` (pool mapped and prefaulted, as `main.ts` boots it), `startService` with TLS +
 * HTTP/3 on one free port and plaintext HTTP/1.1 on another, and optionally a PostgreSQL store.
 * Its RSS is then the service's own, not the test runner's.
 *
 * Usage: `deno run -A --unstable-net tests/_stress_service_child.ts '<json ChildOptions>'`.
 * Prints one line `{"port":N,"plaintextPort":N,"caPath":"...","poolBytes":N}` when it listens;
 * on SIGTERM it shuts down, prints `{"inUse":N}` and exits 0.
 *
 * @module
 */

import { Pool } from "../pool/mod.ts";
import { bootPlan } from "../server/boot.ts";
import { startService } from "../server/service.ts";
import type { Store } from "../store/mod.ts";

/** What the parent asks for (JSON in argv[0]). */
export interface ChildOptions {
  readonly poolBytes: number;
  readonly dataDir: string;
  /** A PostgreSQL URL and schema; absent = no store. */
  readonly pg?: { readonly url: string; readonly schema: string };
  readonly rpcTimeoutMsMax?: number;
  /** HTTP/3 stall timeout (ms); default the server's. */
  readonly h3StallTimeoutMs?: number;
}

async function main(): Promise<void> {
  const options = JSON.parse(Deno.args[0]) as ChildOptions;
  const plan = bootPlan({ poolBytes: options.poolBytes, profile: "rpc" });
  const pool = Pool.open(plan.classes, { prefault: true });
  let store: Store | null = null;
  if (options.pg) {
    // Loaded only here, as the service does: the driver's memory is not in the RSS of the rest.
    const { openPostgresStore } = await import("../store/postgres.ts");
    store = await openPostgresStore(options.pg.url, {
      schema: options.pg.schema,
      connectTimeoutSeconds: 2,
    });
  }
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir: options.dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: options.rpcTimeoutMsMax ?? 10_000,
  };
  const h3Limits = options.h3StallTimeoutMs ? { stallTimeoutMs: options.h3StallTimeoutMs } : {};
  const svc = await startService(config, plan, { pool, store, quiet: true, h3Limits });
  const ready = {
    port: svc.port,
    plaintextPort: svc.plaintextPort,
    caPath: svc.caPath,
    poolBytes: plan.totalBytes,
  };
  console.log(JSON.stringify(ready));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
  await svc.shutdown();
  console.log(JSON.stringify({ inUse: pool.inUseCount() }));
  pool.close();
  await store?.close();
  Deno.exit(0);
}

if (import.meta.main) await main();
