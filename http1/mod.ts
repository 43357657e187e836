/**
 * HTTP/1.1 (RFC 9112) on a `Deno.Conn`: the plaintext port and TLS connections whose ALPN chose
 * http/1.1. Calls go through the call core without Request/Response objects; every other target
 * through the Hono app. Connections are accepted by `listener/tcp_listener.ts`.
 *
 * @module
 */

export { type Http1Options, Http1Server } from "./server.ts";
export { H1_LIMITS_DEFAULT, type H1Limits, h1Limits } from "./limits.ts";
