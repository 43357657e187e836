/**
 * The app built in process over a real pool (no sockets, no store), for dispatch benchmarks.
 *
 * @module
 */

import { Pool } from "../pool/mod.ts";
import { createApp, type CreateAppOptions, type RpcApp } from "../rpc/app.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import { fixedPlan } from "../tests/_plan.ts";

const classes = [
  { blockSizeBytes: 4096, blockCount: 256 },
  { blockSizeBytes: 65536, blockCount: 16 },
];
/** The pool every app here serves from (a bench that is done with it closes it). */
export const pool: Pool = Pool.open(classes);
const registry = createRegistry(METHODS);
const plan = fixedPlan(classes);
const services = { store: null, pool, plan, config: { rpcTimeoutMsMax: 30_000 }, registry };

/**
 * An app over the pool above with the Cap'n Proto wire, plus `options` (auth, request log...).
 *
 * @example
 * ```ts
 * const logged = appWith({ requestLog: new RequestLog({ sink: file }) });
 * ```
 */
export function appWith(options: CreateAppOptions = {}): RpcApp {
  return createApp(services, { registry, binary: createBinaryWire(registry, pool), ...options });
}

/** The app over the pool above. */
export const app = appWith();

/** A POST of `frame` to `/rpc/<method>` as application/capnp with its Content-Length. */
export function capnpRequest(method: string, frame: Uint8Array<ArrayBuffer>): Request {
  return new Request(`http://127.0.0.1/rpc/${method}`, {
    method: "POST",
    headers: { "content-type": "application/capnp", "content-length": String(frame.length) },
    body: frame,
  });
}
