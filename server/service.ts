/**
 * Service start-up: opens the pool from the boot plan, builds the frozen method set and the Hono
 * app, and starts the TCP listeners (TLS with ALPN h2 + http/1.1, and optionally plaintext
 * HTTP/1.1).
 *
 * @module
 */

import type { PoolLike, PoolPlanLike, StoreLike } from "../rpc/method.ts";

/** The configuration fields start-up reads (the `Config` of `config/` satisfies it). */
export interface ServiceConfig {
  /** TCP TLS port (and later UDP QUIC); 0 picks a free port. */
  readonly port: number;
  readonly hostname: string;
  /** Holds generated development certificates under `<dataDir>/certs/`. */
  readonly dataDir: string;
  /** PEM certificate path; empty or absent = generate a development CA + leaf. */
  readonly cert?: string;
  /** PEM private key path, with `cert`. */
  readonly key?: string;
  /** Plaintext HTTP/1.1 port; absent/null/-1 = none, 0 = a free port. */
  readonly plaintextPort?: number | null;
  /** Server maximum for the `Rpc-Timeout-Ms` header. */
  readonly rpcTimeoutMsMax: number;
}

/** A started service. */
export interface RunningService {
  readonly pool: PoolLike;
  readonly plan: PoolPlanLike;
  /** The TLS listener's port (h2 + http/1.1). */
  readonly port: number;
  /** The plaintext HTTP/1.1 port, or null. */
  readonly plaintextPort: number | null;
  /** PEM paths actually served (given or generated). */
  readonly certPath: string;
  readonly keyPath: string;
  /** The development CA's PEM path when certificates were generated, else null. */
  readonly caPath: string | null;
  /** Stops the listeners, waits for them, closes the store and the pool. */
  shutdown(): Promise<void>;
  /** Resolves when every listener has finished. */
  readonly finished: Promise<void>;
}

/** Optional collaborators for start-up (defaults: a pool opened from the plan, no store). */
export interface StartServiceOptions {
  readonly pool?: PoolLike;
  readonly store?: StoreLike | null;
  /** Silence the start-up lines (tests). */
  readonly quiet?: boolean;
}

/**
 * Starts the service.
 *
 * @example
 * ```ts
 * const svc = await startService(config, plan);
 * console.log(svc.port);
 * await svc.shutdown();
 * ```
 */
export function startService(
  config: ServiceConfig,
  plan: PoolPlanLike,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  void config;
  void plan;
  void options;
  return Promise.reject(new Error("Cannot start service: not implemented yet"));
}
