/**
 * The service's HTTP/2 engine (RFC 9113, HPACK RFC 7541): a server connection on any
 * `Deno.Conn` whose requests are handed to an {@link H2Handler}, with flow control driven by the
 * handler's grants, and the limits that bound what one connection can hold.
 *
 * @example
 * ```ts
 * import { Clock } from "../clock/mod.ts";
 * import { H2Connection, h2Limits } from "./mod.ts";
 * const clock = new Clock();
 * const handler = {
 *   onRequest(_head, stream) {
 *     stream.respond(200, [["content-type", "text/plain"]], new TextEncoder().encode("hi"));
 *     return { onData() {}, onEnd() {}, onAbort() {} };
 *   },
 * };
 * const listener = Deno.listenTls({ port: 8443, cert, key, alpnProtocols: ["h2"] });
 * for await (const conn of listener) {
 *   new H2Connection(conn, { handler, clock, limits: h2Limits() }).run();
 * }
 * ```
 * @module
 */

export { H2Connection, type H2ConnectionOptions } from "./connection.ts";
export {
  H2_ERROR,
  H2Error,
  type H2ErrorCodeName,
  h2ErrorCodeName,
  type H2ErrorScope,
  isH2ErrorCodeName,
} from "./errors.ts";
export { FLOOD_NAMES, FloodError, type FloodName } from "./flood.ts";
export { CONNECTION_PREFACE } from "./frame.ts";
export type { H2Handler, H2RequestHead, H2ServerStream, H2StreamHandler } from "./handler.ts";
export {
  H2_LIMITS_DEFAULT,
  h2ConnectionMemoryBoundBytes,
  type H2Limits,
  h2Limits,
} from "./limits.ts";
