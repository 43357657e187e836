/**
 * The plaintext HTTP/1.1 listener on `Deno.listen`: accepts connections up to a cap (one over
 * the cap is accepted and closed at once, so the backlog never fills with connections nobody
 * serves), runs one `Connection` loop each, ticks the coarse clock that drives every timeout and
 * the Date header, and shuts down gracefully.
 *
 * Shutdown: new requests are answered 503 `unavailable` with Retry-After (their connection
 * closes), requests in flight run to their end (bounded by `shutdownTimeoutMs`), then the
 * listening socket and every remaining connection close and `finished` resolves. The listener
 * stays open while draining so a client (or a load balancer's health check) gets a clear 503
 * instead of a refused connection.
 *
 * @module
 */

import type { DispatchDeps } from "../rpc/dispatch.ts";
import { NO_HEADERS } from "../rpc/response_inits.ts";
import { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import { type H1Limits, h1Limits } from "./limits.ts";
import { ResponseEncoder } from "./response.ts";

/** Options of `serveH1`. */
export interface ServeH1Options {
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  readonly hostname: string;
  /** The call core's deps for this transport (`RpcApp.depsFor("h1", ...)`): registry, pool,
   * metrics, request log; `extraHeaders` (Alt-Svc) go on every RPC answer. */
  readonly deps: DispatchDeps;
  /** The app's fetch for every other request (`RpcApp.fetchFor("h1", ...)`). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Overrides of `H1_LIMITS_DEFAULT`. */
  readonly limits?: Partial<H1Limits>;
}

/** A running HTTP/1.1 server. */
export interface H1Server {
  readonly addr: Deno.NetAddr;
  /** Open connections now. */
  readonly connectionCount: number;
  /** Requests being served now (head read, answer not yet written). */
  readonly inFlight: number;
  /** Connections closed at once because the cap was reached, since start. */
  readonly refusedCount: number;
  /** Drains and stops (see the module doc); resolves once `finished` did. Idempotent. */
  shutdown(): Promise<void>;
  /** Resolves when the listener and every connection have ended. */
  readonly finished: Promise<void>;
}

/** The tick never runs more often than this, nor less often than TICK_MS_MAX. */
const TICK_MS_MIN = 10;
const TICK_MS_MAX = 1000;

/** After an accept error other than "closed" (e.g. no file descriptor left), wait this long. */
const ACCEPT_RETRY_MS = 50;

class Server implements ServerContext, H1Server {
  readonly deps: DispatchDeps;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly encoder: ResponseEncoder;
  readonly limits: H1Limits;
  readonly authority: string;
  readonly addr: Deno.NetAddr;
  nowMs = Date.now();
  draining = false;
  inFlight = 0;
  refusedCount = 0;
  readonly finished: Promise<void>;
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Connection>();
  readonly #runs = new Set<Promise<void>>();
  readonly #timer: ReturnType<typeof setInterval>;
  #drained: (() => void) | null = null;
  #stopping: Promise<void> | null = null;

  constructor(options: ServeH1Options) {
    this.deps = options.deps;
    this.fetch = options.fetch;
    this.limits = h1Limits(options.limits);
    this.encoder = new ResponseEncoder(options.deps.extraHeaders ?? NO_HEADERS);
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.addr = this.#listener.addr;
    this.authority = this.addr.hostname.includes(":")
      ? `[${this.addr.hostname}]:${this.addr.port}`
      : `${this.addr.hostname}:${this.addr.port}`;
    const l = this.limits;
    const tickMs = Math.min(
      TICK_MS_MAX,
      Math.max(
        TICK_MS_MIN,
        Math.floor(Math.min(l.idleTimeoutMs, l.headTimeoutMs, l.bodyTimeoutMs) / 4),
      ),
    );
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.finished = this.#acceptLoop();
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestEnded(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.#drained?.();
  }

  #tick(): void {
    const now = Date.now();
    this.nowMs = now;
    this.encoder.tick(now);
    for (const connection of this.#connections) connection.expire(now);
  }

  async #acceptLoop(): Promise<void> {
    // Runs for the server's life: it ends when the listener closes (shutdown, or its socket
    // failed); each pass accepts one connection.
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping !== null || error instanceof Deno.errors.BadResource) break;
        if (error instanceof Deno.errors.Interrupted) break;
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      // While draining the listener stays open: a new connection's requests get 503.
      if (this.#connections.size >= this.limits.connectionCountMax) {
        this.refusedCount++;
        conn.close();
        continue;
      }
      this.#start(conn);
    }
    // The listener is gone: wait for the connections (shutdown closes them).
    await this.#stopping;
    await Promise.allSettled([...this.#runs]);
    clearInterval(this.#timer);
  }

  #start(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
    } catch {
      // Closed already: the loop ends at its first read.
    }
    const connection = new Connection(conn, this);
    this.#connections.add(connection);
    const run = connection.run().finally(() => {
      this.#connections.delete(connection);
      this.#runs.delete(run);
    });
    this.#runs.add(run);
  }

  shutdown(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping.then(() => this.finished);
  }

  async #stop(): Promise<void> {
    this.draining = true;
    if (this.inFlight > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, this.limits.shutdownTimeoutMs);
      });
      clearTimeout(timer);
      this.#drained = null;
    }
    try {
      this.#listener.close();
    } catch {
      // Closed already (its socket failed).
    }
    for (const connection of this.#connections) connection.destroy();
  }
}

/**
 * Starts the plaintext HTTP/1.1 server.
 *
 * @example
 * ```ts
 * const server = serveH1({
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   deps: rpcApp.depsFor("h1", { headers }),
 *   fetch: rpcApp.fetchFor("h1", { headers }),
 * });
 * console.log(server.addr.port);
 * await server.shutdown();
 * ```
 */
export function serveH1(options: ServeH1Options): H1Server {
  return new Server(options);
}
