/**
 * HTTP/3 (RFC 9114) with QPACK (RFC 9204) on Deno's QUIC API: the server (`serveH3`), the
 * client (`H3Client`) and the limits they take.
 *
 * @example
 * ```ts
 * import { H3Client, serveH3 } from "./mod.ts";
 * const server = serveH3({ port: 0, hostname: "127.0.0.1", cert, key, fetch: app.fetch });
 * const client = await H3Client.connect({ hostname: "127.0.0.1", port: server.addr.port,
 *   caCerts: [ca], serverName: "localhost" });
 * ```
 * @module
 */

export {
  H3_LIMITS_DEFAULT,
  type H3Limits,
  type H3Server,
  type H3Stats,
  serveH3,
  type ServeH3Options,
} from "./server.ts";
export {
  createHttp3Transport,
  H3Client,
  type H3ClientOptions,
  type Http3Transport,
  type Http3TransportOptions,
} from "./client.ts";
export { H3Error } from "./errors.ts";
