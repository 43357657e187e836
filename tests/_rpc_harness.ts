/**
 * Test harness for the RPC tests: a real service (real pool, real sockets) on free ports, with
 * a small pool and a temp data directory, torn down with the pool checked empty.
 *
 * @module
 */

import assert from "@std/assert";
import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import type { AnyMethodSpec } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { type RunningService, startService } from "../server/service.ts";
import type { Authenticator } from "../rpc/auth.ts";
import type { RequestLog } from "../rpc/request_log.ts";
import { fixedPlan } from "./_plan.ts";

/** Options of `startTestService`. */
export interface TestServiceOptions {
  readonly classes?: readonly PoolClassConfig[];
  readonly methods?: readonly AnyMethodSpec[];
  readonly rpcTimeoutMsMax?: number;
  readonly messageBytesMax?: number;
  /** Bearer-token checks; default none (tests that are not about auth). */
  readonly auth?: Authenticator;
  /** A request log; default none. */
  readonly requestLog?: RequestLog;
}

/** A started test service plus what tests need to reach it. */
export interface TestService {
  readonly svc: RunningService;
  readonly pool: Pool;
  /** `http://127.0.0.1:<plaintextPort>` */
  readonly plainUrl: string;
  /** `https://localhost:<port>` */
  readonly tlsUrl: string;
  readonly dataDir: string;
  /** Stops the service, asserts the pool is empty, closes it, removes the data dir. */
  close(): Promise<void>;
}

/** The default small pool: 4 KiB x 8, 64 KiB x 4. */
export const SMALL_CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 8 },
  { blockSizeBytes: 65536, blockCount: 4 },
];

/** Starts a service with TLS (dev certs in a temp dir) and plaintext HTTP/1.1, no store. */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const classes = options.classes ?? SMALL_CLASSES;
  const pool = Pool.open(classes);
  const dataDir = await Deno.makeTempDir({ prefix: "rpc-test-" });
  const plan = fixedPlan(classes, { messageBytesMax: options.messageBytesMax });
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: options.rpcTimeoutMsMax ?? 5000,
  };
  const svc = await startService(config, plan, {
    pool,
    store: null,
    methods: options.methods ?? METHODS,
    quiet: true,
    auth: options.auth,
    requestLog: options.requestLog,
  });
  return {
    svc,
    pool,
    plainUrl: `http://127.0.0.1:${svc.plaintextPort}`,
    tlsUrl: `https://localhost:${svc.port}`,
    dataDir,
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** The sum of allocTotal over the pool's classes. */
export function allocTotal(pool: Pool): number {
  return pool.stats().classes.reduce((n, c) => n + c.allocTotal, 0);
}

/** Waits until `check` is true, polling every 5 ms for at most `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
