/**
 * Service start-up: opens the pool from the boot plan, builds the frozen method set and the Hono
 * app, and starts the TCP listeners (TLS with ALPN h2 + http/1.1, and optionally plaintext
 * HTTP/1.1).
 *
 * @module
 */

import { createApp } from "../rpc/app.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import type { AnyMethodSpec, PoolLike, PoolPlanLike, Services, StoreLike } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import { Pool } from "../pool/mod.ts";
import { openStore } from "../store/mod.ts";
import { ensureDevCertificates } from "./dev_certs.ts";
import { type H3Limits, type H3Server, serveH3 } from "../http3/mod.ts";
import type { Authenticator } from "../rpc/auth.ts";
import type { RequestLog, Transport } from "../rpc/request_log.ts";
import { type RpcTracer, traceStore } from "../rpc/tracing.ts";
import { RequestDrain } from "./shutdown_drain.ts";
import { type H1Limits, type H1Server, serveH1 } from "../http1/mod.ts";

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
  /** `"sqlite"` (default, under dataDir) or a `postgres://` URL. */
  readonly store?: string;
}

/** A started service. */
export interface RunningService {
  readonly pool: PoolLike;
  readonly plan: PoolPlanLike;
  /** The TLS listener's port (h2 + http/1.1); HTTP/3 listens on the same number over UDP. */
  readonly port: number;
  /** The plaintext HTTP/1.1 port, or null. */
  readonly plaintextPort: number | null;
  /** PEM paths actually served (given or generated). */
  readonly certPath: string;
  readonly keyPath: string;
  /** The development CA's PEM path when certificates were generated, else null. */
  readonly caPath: string | null;
  /** The HTTP/3 (UDP QUIC) server on `port`: its stats. */
  readonly h3: Pick<H3Server, "stats" | "connectionCount">;
  /** Stops the listeners, waits for them, closes the store and the pool. */
  shutdown(): Promise<void>;
  /** Resolves when every listener has finished. */
  readonly finished: Promise<void>;
}

/** Optional collaborators; given ones are not closed by shutdown (defaults: opened from config). */
export interface StartServiceOptions {
  /** A pool already opened; the service does not close it. Default: open one from the plan. */
  readonly pool?: PoolLike;
  /** A store already opened, or null for none; default: open `config.store`. */
  readonly store?: StoreLike | null;
  /** The method table; default: the production table `rpc/methods.ts`. */
  readonly methods?: readonly AnyMethodSpec[];
  /** Silence the start-up lines (tests). */
  readonly quiet?: boolean;
  /** HTTP/3 limits (timeouts, caps); default `H3_LIMITS_DEFAULT` of http3/server.ts. */
  readonly h3Limits?: Partial<H3Limits>;
  /** Plaintext HTTP/1.1 limits (timeouts, caps); default `H1_LIMITS_DEFAULT` of http1/. */
  readonly h1Limits?: Partial<H1Limits>;
  /**
   * Bearer-token checks. Absent or null = no auth, which only tests and benches that are not
   * about auth use: the real service (`main.ts`) always passes one (see `server/tokens.ts`).
   */
  readonly auth?: Authenticator | null;
  /** One JSON line per request; absent/null = requests are not logged. */
  readonly requestLog?: RequestLog | null;
  /** OpenTelemetry spans around dispatch and store calls; absent/null = none. */
  readonly tracer?: RpcTracer | null;
}

/** Opens the production pool for `plan`. */
function openPlanPool(plan: PoolPlanLike): Pool {
  return Pool.open(plan.classes);
}

/** Resolves the TLS certificate: the configured pair, or generated development ones. */
async function resolveTls(config: ServiceConfig) {
  if (config.cert && config.key) {
    return { certPath: config.cert, keyPath: config.key, caPath: null, generated: false };
  }
  if (config.cert || config.key) {
    throw new TypeError("Cannot start service: give both --cert and --key, or neither");
  }
  return await ensureDevCertificates(config.dataDir);
}

/**
 * Starts the service: the TLS listener (ALPN h2 + http/1.1, Deno.serve) on `config.port` and,
 * when configured, a plaintext HTTP/1.1 listener (our own server, `http1/`) on
 * `config.plaintextPort`. Every TCP response carries `Alt-Svc: h3=":<port>"` for the QUIC side
 * on the same port number.
 *
 * @example
 * ```ts
 * const svc = await startService(config, plan);
 * console.log(svc.port);
 * await svc.shutdown();
 * ```
 */
export async function startService(
  config: ServiceConfig,
  plan: PoolPlanLike,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? openPlanPool(plan);
  let store: StoreLike | null = null;
  try {
    const registry = createRegistry(options.methods ?? METHODS);
    store = options.store !== undefined
      ? options.store
      : await openStore(config.store ?? "sqlite", { dataDir: config.dataDir });
    const tracer = options.tracer ?? null;
    const tracedStore = store === null ? null : traceStore(store, tracer);
    const services: Services = Object.freeze({ store: tracedStore, pool, plan, config, registry });
    let listening = false;
    const rpcApp = createApp(services, {
      registry,
      binary: createBinaryWire(registry, pool),
      auth: options.auth ?? null,
      requestLog: options.requestLog ?? null,
      tracer,
      listening: () => listening,
    });
    const tls = await resolveTls(config);
    const [cert, key] = await Promise.all([
      Deno.readTextFile(tls.certPath),
      Deno.readTextFile(tls.keyPath),
    ]);
    const log = options.quiet ? () => {} : (line: string) => console.log(line);
    if (tls.caPath !== null) {
      log(`dev certificates: ca ${tls.caPath}, leaf ${tls.certPath}, key ${tls.keyPath}`);
    }
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    // Synchronous answers stay synchronous (Deno.serve's fast path for a non-promise Response).
    // Shutdown drains the TCP side before Deno.serve's shutdown(): see shutdown_drain.ts.
    // Every TCP answer carries Alt-Svc for the QUIC side, set where dispatch creates it; the
    // port is known only once the TLS listener is bound, so its handler is set right after
    // (synchronously: no request can run in between).
    const drain = new RequestDrain();
    const handlerFor = (transport: Transport, headers: Readonly<Record<string, string>>) =>
      drain.wrap(rpcApp.fetchFor(transport, { headers }));
    let tlsFetch: (request: Request) => Response | Promise<Response> = () => {
      throw new Error("Cannot serve: the TLS handler is not set yet");
    };
    const tlsServer = Deno.serve({
      port: config.port,
      hostname: config.hostname,
      cert,
      key,
      onListen: () => {},
    }, (request) => tlsFetch(request));
    const port = tlsServer.addr.port;
    const tcpHeaders = { "alt-svc": `h3=":${port}"; ma=86400` };
    tlsFetch = handlerFor("tls", tcpHeaders);
    servers.push(tlsServer);
    log(`listening on https://${config.hostname}:${port} (h2, http/1.1)`);
    // --- HTTP/3 (owned by http3/): UDP QUIC on the same port number, same certificate. ---
    let h3: H3Server;
    try {
      const fetch = rpcApp.fetchFor("h3");
      // POST /rpc/<method> goes straight to the call core (http3/rpc_route.ts); the rest to fetch.
      const rpcDeps = rpcApp.depsFor("h3");
      h3 = serveH3({
        port,
        hostname: config.hostname,
        cert,
        key,
        fetch,
        rpcDeps,
        limits: options.h3Limits,
      });
    } catch (error) {
      await Promise.all(servers.map((s) => s.shutdown()));
      throw error;
    }
    log(`listening on https://${config.hostname}:${port} (h3, udp)`);
    // --- end HTTP/3 ---
    // --- plaintext HTTP/1.1 (owned by http1/): our own server on Deno.listen; it drains itself
    // on shutdown (new requests 503, in-flight ones finish), so it is not wrapped in `drain`. ---
    let plaintextPort: number | null = null;
    let plain: H1Server | null = null;
    const wanted = config.plaintextPort;
    if (wanted !== undefined && wanted !== null && wanted >= 0) {
      try {
        plain = serveH1({
          port: wanted,
          hostname: config.hostname,
          deps: rpcApp.depsFor("h1", { headers: tcpHeaders }),
          fetch: rpcApp.fetchFor("h1", { headers: tcpHeaders }),
          limits: options.h1Limits,
        });
      } catch (error) {
        await Promise.all([...servers.map((s) => s.shutdown()), h3.shutdown()]);
        throw error;
      }
      plaintextPort = plain.addr.port;
      log(`listening on http://${config.hostname}:${plaintextPort} (http/1.1, plaintext)`);
    }
    const plainFinished = plain === null ? [] : [plain.finished];
    // --- end plaintext HTTP/1.1 ---
    const listeners = [...servers.map((s) => s.finished), h3.finished, ...plainFinished];
    const finished = Promise.all(listeners).then(() => {});
    listening = true;
    // A listener that ends on its own (its socket failed) makes /readyz say not ready.
    for (const done of listeners) {
      done.then(() => listening = false, () => listening = false);
    }
    let stopping: Promise<void> | null = null;
    const shutdown = () => {
      stopping ??= (async () => {
        listening = false;
        const tcp = drain.drain().then(() => Promise.all(servers.map((s) => s.shutdown())));
        await Promise.all([tcp, h3.shutdown(), plain?.shutdown()]);
        await finished;
        rpcApp.close();
        if (options.store === undefined) await store?.close();
        if (ownsPool) (pool as { close?(): void }).close?.();
      })();
      return stopping;
    };
    return {
      pool,
      plan,
      port,
      plaintextPort,
      certPath: tls.certPath,
      keyPath: tls.keyPath,
      caPath: tls.caPath,
      h3,
      shutdown,
      finished,
    };
  } catch (error) {
    if (options.store === undefined) await store?.close();
    if (ownsPool) (pool as { close?(): void }).close?.();
    throw error;
  }
}
