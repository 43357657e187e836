/**
 * The TLS port (TCP, ALPN `h2` and `http/1.1`) on the service's own stack: the TCP listener
 * (`listener/tcp_listener.ts`: connection caps with idle eviction, the handshake timeout, EMFILE
 * backoff, graceful drain) hands each connection to HTTP/2 (`http2/`) or HTTP/1.1 (`http1/`, the
 * same parser, limits and timeouts as the plaintext port) by the protocol its ALPN chose; a
 * client that offers no ALPN speaks HTTP/1.1. Both feed the one call core.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import { type H1Limits, Http1Server } from "../http1/mod.ts";
import type { H2Limits } from "../http2/limits.ts";
import { Http2Server } from "../http2/server.ts";
import { type ListenerLimits, listenTcp, type TcpListener } from "../listener/tcp_listener.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import type { CallCore } from "../rpc/core.ts";
import type { HttpApp } from "./http_app.ts";

/** Options of `serveTlsPort`. */
export interface TlsPortOptions {
  readonly port: number;
  readonly hostname: string;
  readonly cert: string;
  readonly key: string;
  readonly core: CallCore;
  readonly app: HttpApp;
  readonly clock: Clock;
  readonly listenerLimits?: Partial<ListenerLimits>;
  readonly h1Limits?: Partial<H1Limits>;
  readonly h2Limits?: Partial<H2Limits>;
}

/** A running TLS port. */
export interface TlsPort {
  readonly port: number;
  readonly listener: TcpListener;
  /** The fields every TCP answer carries (Alt-Svc for the QUIC side on the same port). */
  readonly extraHeaders: HeaderPairs;
  /** New requests get 503 from now on (HTTP/2 streams too, through the core). */
  startDraining(): void;
  /** Drains (bounded by `drainTimeoutMs`), then stops; resolves once stopped. */
  shutdown(drainTimeoutMs: number): Promise<void>;
  readonly finished: Promise<void>;
}

/**
 * Starts the TLS port.
 *
 * @example
 * ```ts
 * const tls = serveTlsPort({ port: 8443, hostname: "0.0.0.0", cert, key, core, app, clock });
 * await tls.shutdown(10_000);
 * ```
 */
export function serveTlsPort(options: TlsPortOptions): TlsPort {
  let protocols: { http1: Http1Server; http2: Http2Server } | null = null;
  // The listener accepts asynchronously: the protocols (which need the bound port for Alt-Svc)
  // are set right after it is made, before any connection can be served.
  const listener = listenTcp({
    port: options.port,
    hostname: options.hostname,
    tls: { cert: options.cert, key: options.key, alpnProtocols: ["h2", "http/1.1"] },
    clock: options.clock,
    limits: options.listenerLimits,
    open: (conn, alpn) =>
      alpn === "h2" ? protocols!.http2.connection(conn) : protocols!.http1.connection(conn),
  });
  const port = listener.addr.port;
  const extraHeaders: HeaderPairs = Object.freeze([
    Object.freeze(["alt-svc", `h3=":${port}"; ma=86400`] as const),
  ]);
  const fetch = options.app.fetchWith(extraHeaders);
  const authority = listener.addr.hostname.includes(":")
    ? `[${listener.addr.hostname}]:${port}`
    : `${listener.addr.hostname}:${port}`;
  protocols = {
    http1: new Http1Server({
      core: options.core,
      fetch,
      clock: options.clock,
      transport: "h1-tls",
      extraHeaders,
      authority,
      limits: options.h1Limits,
    }),
    http2: new Http2Server({
      core: options.core,
      fetch,
      clock: options.clock,
      transport: "h2",
      extraHeaders,
      limits: options.h2Limits,
    }),
  };
  const http1 = protocols.http1;
  return {
    port,
    listener,
    extraHeaders,
    startDraining: () => http1.startDraining(),
    shutdown: (drainTimeoutMs) => listener.shutdown(drainTimeoutMs),
    finished: listener.finished,
  };
}
