/**
 * The composition root: opens the pool from the boot plan, builds the frozen method set, the
 * store, the one clock, the one call core and the Hono app, and starts the listeners on one port
 * number — TCP TLS (ALPN h2 + http/1.1), UDP QUIC (HTTP/3) — and optionally a plaintext HTTP/1.1
 * port. Every listener feeds the same core (docs/design.md).
 *
 * @module
 */

import { Clock } from "../clock/mod.ts";
import { type H1Limits, Http1Server } from "../http1/mod.ts";
import type { H2Limits } from "../http2/limits.ts";
import { Http2Server } from "../http2/server.ts";
import { type H3Limits, type H3Server, serveH3 } from "../http3/mod.ts";
import { type ListenerCounters, renderListenerMetrics } from "../listener/metrics.ts";
import { renderRequestLogMetrics } from "../rpc/metrics.ts";
import { type ListenerLimits, listenTcp, type TcpListener } from "../listener/tcp_listener.ts";
import { Pool } from "../pool/mod.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import type { Authenticator } from "../rpc/auth.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import type { CallCore, CoreLimits } from "../rpc/core.ts";
import { createCore } from "../rpc/core_deps.ts";
import type { AnyMethodSpec, PoolLike, PoolPlanLike, Services, StoreLike } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import type { RequestLog } from "../rpc/request_log.ts";
import { type RpcTracer, traceStore } from "../rpc/tracing.ts";
import { openStore } from "../store/mod.ts";
import { ensureDevCertificates } from "./dev_certs.ts";
import { createHttpApp, type HttpApp } from "./http_app.ts";
import { serveTlsPort, type TlsPort } from "./tls_port.ts";

/** The configuration fields start-up reads (the `Config` of `config/` satisfies it). */
export interface ServiceConfig {
  /** TCP TLS port and UDP QUIC port (one number); 0 picks a free port. */
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
  /** Browsers and caches (rpc/web_policy.ts): CORS origins; none by default. */
  readonly corsOrigins?: readonly string[];
  /** Cache-Control of GET answers; default `private, no-cache`. */
  readonly cacheControl?: string;
  /** Answers of at least this many bytes are compressed; null = never; default 1024. */
  readonly compressMinBytes?: number | null;
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
  /** The one call core (tests read its metrics). */
  readonly core: CallCore;
  /** The service's clock. */
  readonly clock: Clock;
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
  /** HTTP/1.1 limits (buffers, timeouts) of both TCP ports; default `H1_LIMITS_DEFAULT`. */
  readonly h1Limits?: Partial<H1Limits>;
  /** HTTP/2 limits of the TLS port and h2c on the plaintext port; default `H2_LIMITS_DEFAULT`. */
  readonly h2Limits?: Partial<H2Limits>;
  /** TCP listener limits (connection cap, handshake timeout) of both TCP ports. */
  readonly listenerLimits?: Partial<ListenerLimits>;
  /** The call core's limits (body stall timeout). */
  readonly coreLimits?: Partial<CoreLimits>;
  /**
   * Bearer-token checks. Absent or null = no auth, which only tests and benches that are not
   * about auth use: the real service (`main.ts`) always passes one (see `server/tokens.ts`).
   */
  readonly auth?: Authenticator | null;
  /** One JSON line per request; absent/null = requests are not logged. */
  readonly requestLog?: RequestLog | null;
  /** OpenTelemetry spans around calls and store calls; absent/null = none. */
  readonly tracer?: RpcTracer | null;
  /** How long a listener waits for in-flight requests at shutdown; default 60 s. */
  readonly drainTimeoutMs?: number;
}

/** What the service is made of before any listener starts. */
interface Parts {
  readonly pool: PoolLike;
  readonly ownsPool: boolean;
  readonly store: StoreLike | null;
  readonly clock: Clock;
  readonly core: CallCore;
  readonly app: HttpApp;
  readonly state: { listening: boolean; moreMetrics: () => string };
}

/** The listeners of a running service. */
interface Listeners {
  readonly tls: TlsPort;
  readonly h3: H3Server;
  readonly plain: { readonly listener: TcpListener; readonly http1: Http1Server } | null;
}

const DRAIN_TIMEOUT_MS_DEFAULT = 60_000;

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

/** Pool, method set, store, clock, core and app. */
async function openParts(
  config: ServiceConfig,
  plan: PoolPlanLike,
  options: StartServiceOptions,
): Promise<Parts> {
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? Pool.open(plan.classes);
  let store: StoreLike | null = null;
  try {
    const registry = createRegistry(options.methods ?? METHODS);
    store = options.store !== undefined
      ? options.store
      : await openStore(config.store ?? "sqlite", { dataDir: config.dataDir });
    const tracer = options.tracer ?? null;
    const tracedStore = store === null ? null : traceStore(store, tracer);
    const services: Services = Object.freeze({ store: tracedStore, pool, plan, config, registry });
    const clock = new Clock();
    const core = createCore(services, {
      registry,
      clock,
      binary: createBinaryWire(registry, pool),
      auth: options.auth ?? null,
      requestLog: options.requestLog ?? null,
      tracer,
      limits: options.coreLimits,
    });
    const state = { listening: false, moreMetrics: () => "" };
    const app = createHttpApp({
      services,
      metrics: core.deps.metrics,
      shares: core.deps.shares,
      clock,
      listening: () => state.listening,
      moreMetrics: () => state.moreMetrics() + renderRequestLogMetrics(options.requestLog ?? null),
    });
    return { pool, ownsPool, store, clock, core, app, state };
  } catch (error) {
    if (options.store === undefined) await store?.close();
    if (ownsPool) (pool as { close?(): void }).close?.();
    throw error;
  }
}

/** Starts the TLS, QUIC and plaintext listeners; on failure stops those already started. */
async function startListeners(
  config: ServiceConfig,
  parts: Parts,
  options: StartServiceOptions & { cert: string; key: string },
): Promise<Listeners> {
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const tls = serveTlsPort({
    port: config.port,
    hostname: config.hostname,
    cert: options.cert,
    key: options.key,
    core: parts.core,
    app: parts.app,
    clock: parts.clock,
    listenerLimits: options.listenerLimits,
    h1Limits: options.h1Limits,
    h2Limits: options.h2Limits,
  });
  log(`listening on https://${config.hostname}:${tls.port} (h2, http/1.1)`);
  let h3: H3Server;
  try {
    h3 = serveH3({
      port: tls.port,
      hostname: config.hostname,
      cert: options.cert,
      key: options.key,
      fetch: parts.app.fetch,
      core: parts.core,
      clock: parts.clock,
      limits: options.h3Limits,
    });
  } catch (error) {
    await tls.shutdown(0);
    throw error;
  }
  log(`listening on https://${config.hostname}:${tls.port} (h3, udp)`);
  let plain: Listeners["plain"] = null;
  try {
    plain = startPlaintext(config, parts, { ...options, extraHeaders: tls.extraHeaders });
  } catch (error) {
    await Promise.all([tls.shutdown(0), h3.shutdown()]);
    throw error;
  }
  if (plain !== null) {
    log(`listening on http://${config.hostname}:${plain.listener.addr.port} (http/1.1, plaintext)`);
  }
  return { tls, h3, plain };
}

/** The plaintext HTTP/1.1 port, when configured. */
function startPlaintext(
  config: ServiceConfig,
  parts: Parts,
  options: StartServiceOptions & { extraHeaders: HeaderPairs },
): Listeners["plain"] {
  const wanted = config.plaintextPort;
  if (wanted === undefined || wanted === null || wanted < 0) return null;
  let http1: Http1Server | null = null;
  const fetch = parts.app.fetchWith(options.extraHeaders);
  // h2c prior knowledge (RFC 9113 §3.3): a plaintext connection that opens with the preface.
  const http2 = new Http2Server({
    core: parts.core,
    fetch,
    clock: parts.clock,
    transport: "h2c",
    extraHeaders: options.extraHeaders,
    limits: options.h2Limits,
  });
  const listener = listenTcp({
    port: wanted,
    hostname: config.hostname,
    tls: null,
    clock: parts.clock,
    limits: options.listenerLimits,
    open: (conn) => http1!.connection(conn),
  });
  http1 = new Http1Server({
    core: parts.core,
    fetch,
    clock: parts.clock,
    transport: "h1",
    extraHeaders: options.extraHeaders,
    authority: authorityOf(listener.addr),
    limits: options.h1Limits,
    h2c: (conn, preread) => http2.connection(conn, preread),
  });
  return { listener, http1 };
}

/** `host:port` of a bound address (IPv6 in brackets). */
function authorityOf(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Starts the service (see the module doc). Every TCP answer carries `Alt-Svc: h3=":<port>"` for
 * the QUIC side on the same port number.
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
  const parts = await openParts(config, plan, options);
  let listeners: Listeners;
  let tlsPaths: Awaited<ReturnType<typeof resolveTls>>;
  try {
    tlsPaths = await resolveTls(config);
    const [cert, key] = await Promise.all([
      Deno.readTextFile(tlsPaths.certPath),
      Deno.readTextFile(tlsPaths.keyPath),
    ]);
    if (tlsPaths.caPath !== null && !options.quiet) {
      console.log(
        `dev certificates: ca ${tlsPaths.caPath}, leaf ${tlsPaths.certPath}, key ${tlsPaths.keyPath}`,
      );
    }
    listeners = await startListeners(config, parts, { ...options, cert, key });
  } catch (error) {
    await closeParts(parts, options);
    throw error;
  }
  return running(parts, listeners, { ...options, tlsPaths, plan });
}

/** The running service over its parts and listeners. */
function running(
  parts: Parts,
  listeners: Listeners,
  options: StartServiceOptions & {
    tlsPaths: { certPath: string; keyPath: string; caPath: string | null };
    plan: PoolPlanLike;
  },
): RunningService {
  const { tls, h3, plain } = listeners;
  const done = [tls.finished, h3.finished, ...(plain === null ? [] : [plain.listener.finished])];
  const finished = Promise.all(done).then(() => {});
  parts.state.listening = true;
  const counted: [string, ListenerCounters][] = [["tls", tls.listener], ["h3", h3.counters]];
  if (plain !== null) counted.unshift(["plaintext", plain.listener]);
  parts.state.moreMetrics = () => renderListenerMetrics(counted);
  // A listener that ends on its own (its socket failed) makes /readyz say not ready.
  for (const listener of done) {
    listener.then(() => parts.state.listening = false, () => parts.state.listening = false);
  }
  const drainMs = options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS_DEFAULT;
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      parts.state.listening = false;
      // From here every new call on every transport is answered 503 by the core.
      parts.core.draining = true;
      plain?.http1.startDraining();
      tls.startDraining();
      await Promise.all([tls.shutdown(drainMs), h3.shutdown(), plain?.listener.shutdown(drainMs)]);
      await finished;
      await closeParts(parts, options);
    })();
    return stopping;
  };
  return {
    pool: parts.pool,
    plan: options.plan,
    port: tls.port,
    plaintextPort: plain === null ? null : plain.listener.addr.port,
    certPath: options.tlsPaths.certPath,
    keyPath: options.tlsPaths.keyPath,
    caPath: options.tlsPaths.caPath,
    h3,
    core: parts.core,
    clock: parts.clock,
    shutdown,
    finished,
  };
}

/** Closes what the service opened (the clock, and the store and pool unless given). */
async function closeParts(parts: Parts, options: StartServiceOptions): Promise<void> {
  parts.clock.close();
  if (options.store === undefined) await parts.store?.close();
  if (parts.ownsPool) (parts.pool as { close?(): void }).close?.();
}
