/**
 * The plaintext HTTP/1.1 server (`--plaintext-port`): our own RFC 9112 server on `Deno.listen`,
 * serving `POST /rpc/<method>` through the call core without Request/Response objects and
 * everything else through the Hono app. The TLS port stays on Deno.serve.
 *
 * @module
 */

export { type H1Server, serveH1, type ServeH1Options } from "./server.ts";
export { H1_LIMITS_DEFAULT, type H1Limits, h1Limits } from "./limits.ts";
