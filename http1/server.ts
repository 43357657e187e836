/**
 * The HTTP/1.1 side of a listener: what its connections share (`ServerContext`: the call core,
 * the app's fetch, the response encoder, the limits, the clock) and the connection factory the
 * TCP listener (`listener/tcp_listener.ts`) calls for each plaintext connection and each TLS
 * connection whose ALPN chose http/1.1 — the same parser, limits and timeouts for both.
 *
 * Shutdown (`startDraining`): new requests are answered 503 `unavailable` with Retry-After (their
 * connection closes), requests in flight run to their end; the listener then closes what is
 * left.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import { NO_HEADERS } from "../rpc/answer.ts";
import type { CallCore } from "../rpc/core.ts";
import type { Transport } from "../rpc/request_log.ts";
import type { ServedConnection } from "../listener/tcp_listener.ts";
import { ConnectionBuffers } from "./buffers.ts";
import { Connection } from "./connection.ts";
import type { ServerContext } from "./context.ts";
import { type H1Limits, h1Limits } from "./limits.ts";
import { ResponseEncoder } from "./response.ts";

/** Options of `Http1Server`. */
export interface Http1Options {
  /** The one call core: every /rpc target. */
  readonly core: CallCore;
  /** The app's fetch for every other target. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly clock: Clock;
  /** The request log's label for this listener ("h1" plaintext, "h1-tls"). */
  readonly transport: Transport;
  /** Fields on every answer (e.g. Alt-Svc); lower-case names. */
  readonly extraHeaders?: HeaderPairs;
  /** The listener's `host:port` (the URL authority of a request without Host). */
  readonly authority: string;
  /** Overrides of `H1_LIMITS_DEFAULT`. */
  readonly limits?: Partial<H1Limits>;
  /** Spare buffer pairs kept for reuse (the listener's connection cap); default 1024. */
  readonly spareBuffersMax?: number;
  /** Serves h2c prior-knowledge connections (the plaintext port); default none. */
  readonly h2c?: ((conn: Deno.Conn, preread: Uint8Array) => ServedConnection) | null;
}

/**
 * The HTTP/1.1 protocol of one listener.
 *
 * @example
 * ```ts
 * const http1 = new Http1Server({ core, fetch, clock, transport: "h1", authority: "h:80" });
 * const listener = listenTcp({ port: 0, hostname: "127.0.0.1", tls: null, clock,
 *   open: (conn) => http1.connection(conn) });
 * ```
 */
export class Http1Server implements ServerContext {
  readonly core: CallCore;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly encoder: ResponseEncoder;
  readonly limits: H1Limits;
  readonly buffers: ConnectionBuffers;
  readonly clock: Clock;
  readonly transport: Transport;
  readonly authority: string;
  readonly h2c: ((conn: Deno.Conn, preread: Uint8Array) => ServedConnection) | null;
  draining = false;
  /** Requests being served now (head read, answer not yet written). */
  inFlight = 0;

  constructor(options: Http1Options) {
    this.core = options.core;
    this.fetch = options.fetch;
    this.clock = options.clock;
    this.transport = options.transport;
    this.authority = options.authority;
    this.h2c = options.h2c ?? null;
    this.limits = h1Limits(options.limits);
    this.buffers = new ConnectionBuffers({
      readBytes: this.limits.readBufferBytes,
      outBytes: this.limits.outputBufferBytes,
      spareCountMax: options.spareBuffersMax ?? 1024,
    });
    const clock = options.clock;
    this.encoder = new ResponseEncoder(options.extraHeaders ?? NO_HEADERS, () => clock.nowMs);
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestEnded(): void {
    this.inFlight--;
  }

  /** New requests get 503 from now on; connections close after their request in flight. */
  startDraining(): void {
    this.draining = true;
  }

  /** Serves one connection (its first bytes, if the listener read any, in `preread`). */
  connection(conn: Deno.Conn, preread: Uint8Array | null = null): ServedConnection {
    return new Connection(conn, this, preread);
  }
}
