/**
 * What every connection of a server shares with it: the call core, the app's fetch, the
 * response encoder, the limits, the service's clock, the transport label and the drain state.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { ServedConnection } from "../listener/tcp_listener.ts";
import type { CallCore } from "../rpc/core.ts";
import type { Transport } from "../rpc/request_log.ts";
import type { ConnectionBuffers } from "./buffers.ts";
import type { H1Limits } from "./limits.ts";
import type { ResponseEncoder } from "./response.ts";

/** What a connection shares with its server. */
export interface ServerContext {
  /** The one call core: every /rpc target is opened there. */
  readonly core: CallCore;
  /** The Hono app's fetch, for every target outside /rpc. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly encoder: ResponseEncoder;
  readonly limits: H1Limits;
  /** Reused read and output buffers of the connections. */
  readonly buffers: ConnectionBuffers;
  /** The service's clock (every timeout of the connection is an entry on it). */
  readonly clock: Clock;
  /** How requests arrive here (the request log's `transport`). */
  readonly transport: Transport;
  /** `host:port` the listener is bound to (the URL authority of an HTTP/1.0 request). */
  readonly authority: string;
  /**
   * Serves a connection that opened with the HTTP/2 preface (h2c prior knowledge) on HTTP/2,
   * given the bytes read so far; null = the listener speaks HTTP/1.1 only (then the preface is
   * a bad request).
   */
  readonly h2c: ((conn: Deno.Conn, preread: Uint8Array) => ServedConnection) | null;
  /** True once shutdown began: new requests get 503 and their connection closes. */
  readonly draining: boolean;
  /** Called when a request starts and when its answer is written. */
  requestStarted(): void;
  requestEnded(): void;
}
