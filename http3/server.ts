/**
 * The HTTP/3 server: a QUIC endpoint (ALPN "h3") whose connections are served by
 * {@link H3ServerConnection}, with a cap on connections, an idle timeout, a cap on concurrent
 * request streams per connection, and a graceful shutdown (GOAWAY, drain, close).
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { CallCore } from "../rpc/core.ts";
import { ConnectionTable } from "../listener/connection_table.ts";
import type { ListenerCounters } from "../listener/metrics.ts";
import { H3_ERROR } from "./errors.ts";
import { H3ServerConnection } from "./connection.ts";
import type { ConnectionLimits } from "./connection.ts";

/** Every limit of the HTTP/3 server. */
export interface H3Limits extends ConnectionLimits {
  /**
   * Connections served at once; at the cap an idle one (no request in flight) makes room for a
   * newcomer, else the newcomer is refused during the handshake (listener/connection_table.ts).
   */
  readonly connectionCountMax: number;
  /** Connections at once from one client address, with the same eviction. */
  readonly connectionsPerAddressMax: number;
  /** Concurrent request streams per connection (QUIC's bidirectional stream limit). */
  readonly requestStreamCountMax: number;
  /** A connection with no traffic for this long is closed by QUIC. */
  readonly idleTimeoutMs: number;
  /** On shutdown, the longest wait for in-flight requests after GOAWAY. */
  readonly drainTimeoutMs: number;
}

/** Defaults for {@link H3Limits}. */
export const H3_LIMITS_DEFAULT: Readonly<H3Limits> = Object.freeze({
  connectionCountMax: 1024,
  connectionsPerAddressMax: 512,
  requestStreamCountMax: 100,
  idleTimeoutMs: 30_000,
  drainTimeoutMs: 10_000,
  stallTimeoutMs: 15_000,
  bodyBytesMax: 16 * 1024 * 1024,
  headersBytesMax: 16 * 1024,
  qpackMaxTableCapacity: 4096,
  qpackBlockedStreams: 16,
});

/** Options of {@link serveH3}. */
export interface ServeH3Options {
  /** UDP port; 0 picks a free one. */
  readonly port: number;
  /** Default "0.0.0.0". */
  readonly hostname?: string;
  /** PEM leaf certificate chain (a CA as the end entity is refused by QUIC). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** The app: gets each request, answers a Response. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /**
   * The call core: every /rpc target is then served by it (http3/rpc_route.ts) instead of
   * through `fetch`. Absent/null = every request goes to `fetch`.
   */
  readonly core?: CallCore | null;
  /** The service's clock (stall timeouts, the drain deadline). */
  readonly clock: Clock;
  readonly limits?: Partial<H3Limits>;
}

/** Totals over every connection the server has served. */
export interface H3Stats {
  connectionCount: number;
  requestCount: number;
  /** Request HEADERS that waited for QPACK encoder-stream inserts. */
  blockedSectionCount: number;
  /** Entries peers inserted into our QPACK dynamic tables. */
  qpackInsertCount: number;
}

/** A running HTTP/3 server. */
export interface H3Server {
  /** The bound UDP address. */
  readonly addr: Deno.NetAddr;
  /** Connections being served now. */
  readonly connectionCount: number;
  /** Totals since start (connections served, requests, QPACK activity). */
  stats(): H3Stats;
  /** The connection table's counters (listener/metrics.ts). */
  readonly counters: ListenerCounters;
  /** GOAWAY to every connection, waits for in-flight requests (bounded), closes everything. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
}

function checkLimits(limits: H3Limits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot serve HTTP/3: limit ${name} ${value} is not an integer >= 0`);
    }
  }
  for (const name of ["connectionCountMax", "stallTimeoutMs", "idleTimeoutMs"] as const) {
    if (limits[name] === 0) throw new RangeError(`Cannot serve HTTP/3: limit ${name} is 0`);
  }
}

/**
 * Starts an HTTP/3 server on a UDP port.
 *
 * @example
 * ```ts
 * const server = serveH3({ port: 8443, cert, key, fetch: () => new Response("ok") });
 * await server.shutdown();
 * ```
 */
export function serveH3(options: ServeH3Options): H3Server {
  const limits: H3Limits = { ...H3_LIMITS_DEFAULT, ...options.limits };
  checkLimits(limits);
  const endpoint = new Deno.QuicEndpoint({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
  });
  const listener = endpoint.listen({
    alpnProtocols: ["h3"],
    cert: options.cert,
    key: options.key,
    maxIdleTimeout: limits.idleTimeoutMs,
    maxConcurrentBidirectionalStreams: limits.requestStreamCountMax,
    // Control, QPACK encoder and decoder, plus room for GREASE streams.
    maxConcurrentUnidirectionalStreams: 16,
  });
  const connections = new ConnectionTable<H3ServerConnection>(limits);
  const totals: H3Stats = {
    connectionCount: 0,
    requestCount: 0,
    blockedSectionCount: 0,
    qpackInsertCount: 0,
  };
  const state = { stopping: false, totals, handshakeFailureCount: 0 };
  const accepting = acceptLoop(listener, connections, { ...options, limits, state });
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      // stop() does not wake a pending accept: the flag refuses late arrivals, and closing the
      // endpoint (after draining) ends the loop.
      state.stopping = true;
      listener.stop();
      await drainAll(connections.entries(), limits.drainTimeoutMs, options.clock);
      endpoint.close({ closeCode: 0x0100, reason: "" });
      await accepting;
      await drainAll(connections.entries(), 0, options.clock);
    })();
    return stopping;
  };
  const finished = accepting.then(() => stopping ?? shutdown());
  return {
    addr: endpoint.addr,
    get connectionCount() {
      return connections.size;
    },
    counters: {
      get connectionCount() {
        return connections.size;
      },
      get refusedCount() {
        return connections.refusedCount;
      },
      get evictedCount() {
        return connections.evictedCount;
      },
      acceptErrorCount: 0,
      get handshakeFailureCount() {
        return state.handshakeFailureCount;
      },
    },
    stats() {
      const sum = { ...totals };
      for (const connection of connections.entries()) addStats(sum, connection);
      return sum;
    },
    shutdown,
    finished,
  };
}

async function acceptLoop(
  listener: Deno.QuicListener,
  connections: ConnectionTable<H3ServerConnection>,
  options: ServeH3Options & {
    limits: H3Limits;
    state: { stopping: boolean; totals: H3Stats; handshakeFailureCount: number };
  },
): Promise<void> {
  const handshakes = new Set<Promise<void>>();
  // Ends when the listener stops; the connection cap bounds the live set.
  for await (const incoming of listener) {
    if (options.state.stopping || handshakes.size >= options.limits.connectionCountMax) {
      incoming.refuse();
      continue;
    }
    // The client's address is read off the accepted connection: reading it off the incoming
    // one makes Deno 2.9 refuse the handshake.
    const handshake = incoming.accept<false>().then((conn: Deno.QuicConn) => {
      const address = conn.remoteAddr.hostname;
      if (connections.admit(address) === "refused") {
        conn.close({ closeCode: H3_ERROR.H3_EXCESSIVE_LOAD, reason: "too many connections" });
        return;
      }
      const h3 = new H3ServerConnection(conn, {
        fetch: options.fetch,
        core: options.core,
        clock: options.clock,
        limits: options.limits,
      });
      connections.add(h3, address);
      options.state.totals.connectionCount++;
      h3.done.finally(() => {
        connections.remove(h3);
        addStats(options.state.totals, h3);
      });
    }, () => {
      // A failed handshake concerns that client only.
      options.state.handshakeFailureCount++;
    });
    handshakes.add(handshake);
    handshake.finally(() => handshakes.delete(handshake));
  }
  await Promise.allSettled([...handshakes]);
}

function addStats(sum: H3Stats, connection: H3ServerConnection): void {
  sum.requestCount += connection.stats.requestCount;
  sum.blockedSectionCount += connection.stats.blockedSectionCount;
  sum.qpackInsertCount += connection.qpackInsertCount;
}

async function drainAll(
  connections: H3ServerConnection[],
  drainTimeoutMs: number,
  clock: Clock,
): Promise<void> {
  await clock.within(Promise.allSettled(connections.map((c) => c.goaway())), drainTimeoutMs, null);
  for (const connection of connections) connection.close();
  await Promise.allSettled(connections.map((c) => c.done));
}
