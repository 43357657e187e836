/**
 * The HTTP/2 side of a listener: what its connections share (the call core, the app's fetch,
 * the clock, the limits) and the connection factory the TCP listener calls for each TLS
 * connection whose ALPN chose `h2`, and for each plaintext connection that opens with the h2
 * preface (h2c prior knowledge, RFC 9113 §3.3).
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { ServedConnection } from "../listener/tcp_listener.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import type { CallCore } from "../rpc/core.ts";
import type { Transport } from "../rpc/request_log.ts";
import { H2Connection } from "./connection.ts";
import { H2CoreAdapter } from "./core_adapter.ts";
import { type H2Limits, h2Limits } from "./limits.ts";

/** Options of `Http2Server`. */
export interface Http2Options {
  readonly core: CallCore;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly clock: Clock;
  /** "h2" over TLS, "h2c" in the clear. */
  readonly transport: Transport;
  /** Fields on every answer (Alt-Svc); lower-case names. */
  readonly extraHeaders: HeaderPairs;
  readonly limits?: Partial<H2Limits>;
}

/**
 * The HTTP/2 protocol of one listener.
 *
 * @example
 * ```ts
 * const http2 = new Http2Server({ core, fetch, clock, transport: "h2", extraHeaders: [] });
 * const served = http2.connection(conn);
 * await served.run();
 * ```
 */
export class Http2Server {
  readonly limits: H2Limits;
  readonly #options: Http2Options;

  constructor(options: Http2Options) {
    this.#options = options;
    this.limits = h2Limits(options.limits);
  }

  /** Serves one connection (`preread`: bytes the listener or HTTP/1.1 already read). */
  connection(conn: Deno.Conn, preread: Uint8Array | null = null): ServedConnection {
    const options = this.#options;
    const handler = new H2CoreAdapter({
      core: options.core,
      fetch: options.fetch,
      extraHeaders: options.extraHeaders,
      transport: options.transport,
      initialWindowBytes: this.limits.initialWindowBytes,
      scheme: options.transport === "h2c" ? "http" : "https",
    }, options.core.deps.shares.connectionAccount());
    const connection = new H2Connection(conn, {
      handler,
      clock: options.clock,
      limits: this.limits,
      preread: preread ?? undefined,
    });
    return {
      run: () => connection.run(),
      destroy: () => connection.destroy(),
      get idle() {
        return connection.idle;
      },
      drain: () => connection.shutdown(),
    };
  }
}
