/**
 * The TLS port (ALPN h2 + http/1.1). Served by Deno.serve through the call core's Deno.serve
 * adapter (`deno_serve/adapter.ts`) until the service's own HTTP/2 stack takes it over.
 *
 * Shutdown drains first (see shutdown_drain.ts): on Deno 2.9 `shutdown()` makes in-flight
 * HTTP/1.1 bodies unreadable (denoland/deno#36809).
 *
 * @module
 */

import { denoServeHandler } from "../deno_serve/adapter.ts";
import type { HeaderPairs } from "../rpc/answer.ts";
import type { CallCore } from "../rpc/core.ts";
import type { HttpApp } from "./http_app.ts";
import { RequestDrain } from "./shutdown_drain.ts";

/** Options of `serveTlsPort`. */
export interface TlsPortOptions {
  readonly port: number;
  readonly hostname: string;
  readonly cert: string;
  readonly key: string;
  readonly core: CallCore;
  readonly app: HttpApp;
}

/** A running TLS port. */
export interface TlsPort {
  readonly port: number;
  /** The fields every TCP answer carries (Alt-Svc for the QUIC side on the same port). */
  readonly extraHeaders: HeaderPairs;
  /** Drains, then stops; resolves once stopped. */
  shutdown(drainTimeoutMs: number): Promise<void>;
  readonly finished: Promise<void>;
}

/**
 * Starts the TLS port.
 *
 * @example
 * ```ts
 * const tls = serveTlsPort({ port: 8443, hostname: "0.0.0.0", cert, key, core, app });
 * ```
 */
export function serveTlsPort(options: TlsPortOptions): TlsPort {
  const core = options.core;
  const drain = new RequestDrain(() => {
    const answer = core.drainingAnswer(null);
    const headers = { "content-type": answer.contentType };
    const response = new Response(answer.body.slice(), { status: answer.status, headers });
    for (const [name, value] of answer.fields) response.headers.set(name, value);
    return response;
  });
  let handler: (request: Request) => Response | Promise<Response> = () => {
    throw new Error("Cannot serve: the TLS handler is not set yet");
  };
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    cert: options.cert,
    key: options.key,
    onListen: () => {},
  }, (request) => handler(request));
  const port = server.addr.port;
  const extraHeaders: HeaderPairs = Object.freeze([
    Object.freeze(["alt-svc", `h3=":${port}"; ma=86400`] as const),
  ]);
  // The port is known only once bound, so the handler is set right after (synchronously: no
  // request can run in between).
  handler = drain.wrap(denoServeHandler({
    core,
    app: options.app.fetchWith(extraHeaders),
    transport: "tls",
    extraHeaders,
  }));
  return {
    port,
    extraHeaders,
    shutdown: () => drain.drain().then(() => server.shutdown()),
    finished: server.finished,
  };
}
