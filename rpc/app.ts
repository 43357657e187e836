/**
 * The Hono app: RPC routes, health, readiness and metrics. Transport-neutral: the TCP listeners
 * (`server/`) and the HTTP/3 layer both hand requests to `app.fetch`.
 *
 * @module
 */

import { Hono } from "hono";
import { mountDashboard } from "../dashboard/mod.ts";
import { dispatchBatch } from "./batch.ts";
import { type BinaryWire, dispatchCall, type DispatchDeps } from "./dispatch.ts";
import type { MethodReadLimits, Services } from "./method.ts";
import { DeadlineScheduler } from "./deadlines.ts";
import { RpcMetrics } from "./metrics.ts";
import type { MethodRegistry } from "./registry.ts";
import type { Authenticator } from "./auth.ts";
import type { RequestLog, Transport } from "./request_log.ts";
import type { RpcTracer } from "./tracing.ts";
import { headerPairsOf, withHeaders } from "./response_inits.ts";

/** How long `/readyz` waits for the store's ping. */
export const READY_STORE_TIMEOUT_MS = 1000;

/** Options of `createApp`. */
export interface CreateAppOptions {
  /** The binary wire; default: the Cap'n Proto wire of `rpc/binary_wire.ts`. Null = JSON only. */
  readonly binary?: BinaryWire | null;
  /** Shared metrics (e.g. when several apps serve one pool); default: new. */
  readonly metrics?: RpcMetrics;
  /** Bearer-token checks for /rpc; default null (no auth: tests, benches). */
  readonly auth?: Authenticator | null;
  /** One JSON line per request; default null (not logged). */
  readonly requestLog?: RequestLog | null;
  /** OpenTelemetry spans around dispatch; default null. */
  readonly tracer?: RpcTracer | null;
  /** Whether every listener is up (for /readyz); default: always. */
  readonly listening?: () => boolean;
}

/** Options of `RpcApp.fetchFor`. */
export interface FetchForOptions {
  /** Extra headers on every answer, set where each RPC answer is created; default none. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A built app and the state it serves from. */
export interface RpcApp {
  readonly app: Hono;
  /** `app.fetch`, bound. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /**
   * The same fetch, with the request log naming the transport requests came over, and every
   * answer carrying `options.headers` (lower-case names; e.g. the TCP side's Alt-Svc).
   */
  fetchFor(
    transport: Transport,
    options?: FetchForOptions,
  ): (request: Request) => Response | Promise<Response>;
  readonly deps: DispatchDeps;
  /**
   * The deps a transport that runs calls itself (`rpc/call.ts`) uses: the request log names
   * `transport`, and `extraHeaders` holds `options.headers` (lower-case names) for every answer.
   */
  depsFor(transport: Transport, options?: FetchForOptions): DispatchDeps;
  /** Stops the app's timers (call after the listeners stopped). */
  close(): void;
}

/**
 * The per-method request limits: the method's own limit under the plan, clamped to the plan's
 * message maximum and the largest pool block (a request must fit one block).
 */
export function requestLimitsFor(registry: MethodRegistry, services: Services): number[] {
  const classes = services.plan.classes;
  const blockBytesMax = classes.length === 0 ? 0 : classes[classes.length - 1].blockSizeBytes;
  return registry.methods.map((spec) => {
    const own = spec.requestBytesMax(services.plan);
    if (!Number.isSafeInteger(own) || own < 0) {
      throw new RangeError(`Cannot build app: ${spec.name} has request limit ${own}`);
    }
    return Math.min(own, services.plan.messageBytesMax, blockBytesMax);
  });
}

/**
 * The per-method decode limits under the plan (null where a method names none), checked once at
 * boot so a bad limit fails the start, not a call.
 */
export function readLimitsFor(
  registry: MethodRegistry,
  services: Services,
): (MethodReadLimits | null)[] {
  return registry.methods.map((spec) => {
    if (spec.readLimits === undefined) return null;
    const limits = Object.freeze({ ...spec.readLimits(services.plan) });
    const lengthMax = limits.listLengthMax;
    if (lengthMax !== undefined && (!Number.isSafeInteger(lengthMax) || lengthMax < 0)) {
      throw new RangeError(`Cannot build app: ${spec.name} has listLengthMax ${lengthMax}`);
    }
    return limits;
  });
}

/**
 * Builds the Hono app over a frozen registry and the boot services.
 *
 * @example
 * ```ts
 * const { fetch } = createApp(services, { binary: null });
 * Deno.serve({ port: 0 }, fetch);
 * ```
 */
export function createApp(
  services: Services,
  options: CreateAppOptions & {
    readonly registry: MethodRegistry;
  },
): RpcApp {
  const registry = options.registry;
  if (!registry.frozen) throw new TypeError("Cannot build app: the method set is not frozen");
  const deps: DispatchDeps = {
    registry,
    services,
    metrics: options.metrics ?? new RpcMetrics(registry.methods.map((m) => m.name)),
    requestBytesMax: requestLimitsFor(registry, services),
    readLimits: readLimitsFor(registry, services),
    binary: options.binary ?? null,
    deadlines: new DeadlineScheduler(),
    auth: options.auth ?? null,
    requestLog: options.requestLog ?? null,
    tracer: options.tracer ?? null,
    transport: "h1",
  };
  // Routes read the per-transport deps from Hono's env binding (see fetchFor below); a caller of
  // app.fetch without one gets the default deps.
  const depsOf = (env: unknown): DispatchDeps => (env as { deps?: DispatchDeps })?.deps ?? deps;
  const app = new Hono();
  app.post("/rpc/:method", (c) => dispatchCall(c.req.raw, c.req.param("method"), depsOf(c.env)));
  app.post("/rpc", (c) => dispatchBatch(c.req.raw, depsOf(c.env)));
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const problem = options.listening?.() === false
      ? "not ready: the listeners are not up"
      : await readinessProblem(services);
    return problem === null ? c.text("ready") : c.text(problem, 503);
  });
  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4");
    return c.body(deps.metrics.render(services.pool, deps.requestLog ?? null));
  });
  // The live dashboard (GET /, its assets and GET /api/stats): see dashboard/mod.ts.
  mountDashboard(app, {
    pool: services.pool,
    metrics: deps.metrics,
    methodNames: registry.methods.map((m) => m.name),
  });
  // The hot path skips Hono's router and context (it measured ~25% of an unknown-method
  // rejection): a POST whose path is exactly /rpc/<segment> goes straight to dispatch, with the
  // same handler the Hono route above runs; everything else (and any %-escaped or nested path)
  // takes the Hono route.
  const fetchWith = (d: DispatchDeps) => {
    const env = { deps: d };
    // RPC answers get the extra headers where dispatch creates them; the other routes (health,
    // metrics, dashboard, Hono's 404) are off the hot path and get them on the finished Response.
    const extra = d.extraHeaders ?? [];
    const routed = extra.length === 0
      ? (request: Request) => app.fetch(request, env)
      : (request: Request) => {
        const response = app.fetch(request, env);
        return response instanceof Promise
          ? response.then((r) => withHeaders(r, extra))
          : withHeaders(response, extra);
      };
    return (request: Request): Response | Promise<Response> => {
      if (request.method === "POST") {
        const method = rpcMethodSegment(request.url);
        if (method !== null) return dispatchCall(request, method, d);
      }
      return routed(request);
    };
  };
  const fetch = fetchWith(deps);
  const depsFor = (transport: Transport, fetchOptions: FetchForOptions = {}): DispatchDeps => {
    const headers = fetchOptions.headers;
    if (headers === undefined) return transport === "h1" ? deps : { ...deps, transport };
    return { ...deps, transport, extraHeaders: headerPairsOf(headers) };
  };
  return {
    app,
    fetch,
    fetchFor: (transport, fetchOptions = {}) => {
      const d = depsFor(transport, fetchOptions);
      return d === deps ? fetch : fetchWith(d);
    },
    depsFor,
    deps,
    close: () => deps.deadlines.close(),
  };
}

/**
 * The `<segment>` of a URL whose path is `/rpc/<segment>` (no `/`, `%`, empty segment), or null.
 * Scans the URL once; no URL object.
 *
 * @example
 * ```ts
 * rpcMethodSegment("http://h:1/rpc/system.echo?x=1"); // "system.echo"
 * ```
 */
export function rpcMethodSegment(url: string): string | null {
  const schemeEnd = url.indexOf("://");
  if (schemeEnd < 0) return null;
  const pathStart = url.indexOf("/", schemeEnd + 3);
  if (pathStart < 0 || !url.startsWith("/rpc/", pathStart)) return null;
  const nameStart = pathStart + 5;
  let end = nameStart;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    if (c === 0x3f || c === 0x23) break; // '?' or '#': the path ends.
    if (c === 0x2f || c === 0x25) return null; // '/' or '%': leave it to the router.
  }
  return end === nameStart ? null : url.slice(nameStart, end);
}

/** Null when ready, else why not: the smallest class has no free block, or the store fails. */
async function readinessProblem(services: Services): Promise<string | null> {
  const smallest = services.pool.stats().classes[0];
  if (smallest !== undefined && smallest.blocksInUse >= smallest.blocksTotal) {
    return `not ready: pool class ${smallest.blockSizeBytes} exhausted`;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const store = services.store;
    if (store !== null) {
      // A store that hangs must not hang the probe: bounded by READY_STORE_TIMEOUT_MS.
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${READY_STORE_TIMEOUT_MS} ms`)),
          READY_STORE_TIMEOUT_MS,
        );
      });
      await Promise.race([store.ping(), late]);
    }
  } catch (error) {
    return `not ready: store unreachable (${error instanceof Error ? error.message : error})`;
  } finally {
    clearTimeout(timer);
  }
  return null;
}
