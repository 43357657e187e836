/**
 * What every connection of a server shares with it: the call core's deps, the app's fetch, the
 * response encoder, the limits, the coarse clock and the drain state.
 *
 * @module
 */

import type { DispatchDeps } from "../rpc/dispatch.ts";
import type { H1Limits } from "./limits.ts";
import type { ResponseEncoder } from "./response.ts";

/** What a connection shares with its server. */
export interface ServerContext {
  readonly deps: DispatchDeps;
  /** The Hono app's fetch, for everything but the RPC fast path. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  readonly encoder: ResponseEncoder;
  readonly limits: H1Limits;
  /** `host:port` the listener is bound to (the URL authority of an HTTP/1.0 request). */
  readonly authority: string;
  /** A coarse clock (ms), advanced by the server's tick. */
  readonly nowMs: number;
  /** True once shutdown began: new requests get 503 and their connection closes. */
  readonly draining: boolean;
  /** Called when a request starts and when its answer is written. */
  requestStarted(): void;
  requestEnded(): void;
}
