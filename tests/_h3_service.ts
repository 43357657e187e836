/**
 * Test harness for the HTTP/3 tests: the real service (real pool, TCP TLS + UDP QUIC on one port
 * number, generated development certificates) with short HTTP/3 timeouts, and an HTTP/3 client
 * connected to it. Teardown checks the pool is back to 0 blocks in use.
 *
 * @module
 */

import assert from "@std/assert";
import { H3Client } from "../http3/mod.ts";
import type { H3Limits } from "../http3/server.ts";
import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import type { Authenticator } from "../rpc/auth.ts";
import { METHODS } from "../rpc/methods.ts";
import { type RunningService, startService } from "../server/service.ts";
import type { CoreLimits } from "../rpc/core.ts";
import { fixedPlan } from "./_plan.ts";

/** A started service and what the HTTP/3 tests need to reach it. */
export interface H3TestService {
  readonly svc: RunningService;
  readonly pool: Pool;
  /** The port number (TCP TLS and UDP QUIC). */
  readonly port: number;
  /** `https://localhost:<port>` */
  readonly origin: string;
  /** The development CA's PEM text. */
  readonly caPem: string;
  /** A new HTTP/3 client connected to the service (the caller closes it). */
  connect(): Promise<H3Client>;
  /** Stops the service, asserts the pool is empty, closes it, removes the data dir. */
  close(): Promise<void>;
}

/** 4 KiB x 8 and 64 KiB x 4: small enough that a leaked lease shows at once. */
export const H3_TEST_CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 8 },
  { blockSizeBytes: 65536, blockCount: 4 },
];

/** Options of {@link startH3Service} besides the HTTP/3 limits. */
export interface H3TestServiceOptions {
  /** Bearer-token checks; default none. */
  readonly auth?: Authenticator | null;
  /** The call core's limits (e.g. a short body stall timeout). */
  readonly coreLimits?: Partial<CoreLimits>;
}

/** Starts the service with the given HTTP/3 limits (e.g. a short stall timeout). */
export async function startH3Service(
  h3Limits: Partial<H3Limits> = {},
  options: H3TestServiceOptions = {},
): Promise<H3TestService> {
  const classes = H3_TEST_CLASSES;
  const pool = Pool.open(classes);
  const dataDir = await Deno.makeTempDir({ prefix: "h3-test-" });
  const plan = fixedPlan(classes);
  const config = { port: 0, hostname: "127.0.0.1", dataDir, rpcTimeoutMsMax: 5000 };
  let svc: RunningService;
  try {
    svc = await startService(config, plan, {
      pool,
      store: null,
      methods: METHODS,
      quiet: true,
      h3Limits,
      auth: options.auth ?? null,
      coreLimits: options.coreLimits,
    });
  } catch (error) {
    pool.close();
    await Deno.remove(dataDir, { recursive: true });
    throw error;
  }
  const caPem = await Deno.readTextFile(svc.caPath!);
  const port = svc.port;
  return {
    svc,
    pool,
    port,
    origin: `https://localhost:${port}`,
    caPem,
    connect: () =>
      H3Client.connect({ hostname: "127.0.0.1", port, caCerts: [caPem], serverName: "localhost" }),
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Waits until `check` is true, polling every 10 ms for at most `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The field lines of a JSON `POST /rpc/system.echo` over HTTP/3 declaring `contentLength`
 * (for tests that write raw request streams).
 *
 * @example
 * ```ts
 * const frame = encodeHeadersFrame(encodeFieldSection(h3EchoPostHead(t.port, 12)));
 * ```
 */
export function h3EchoPostHead(port: number, contentLength: number): [string, string][] {
  return [
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", `localhost:${port}`],
    [":path", "/rpc/system.echo"],
    ["content-type", "application/json"],
    ["content-length", String(contentLength)],
  ];
}
