/**
 * The client's view of every method: its params and result codecs, by name. Generated codecs
 * only (no server code), so a client bundle stays small.
 *
 * @module
 */

import type { StructCodec } from "../capnp/mod.ts";
import * as sheaf from "../schema/sheaf_capnp.ts";
import * as system from "../schema/system_capnp.ts";
import * as worknode from "../schema/worknode_capnp.ts";

/** The codecs of one method. */
export interface MethodCodecs<P, R> {
  readonly params: StructCodec<P>;
  readonly result: StructCodec<R>;
}

function pair<P, R>(params: StructCodec<P>, result: StructCodec<R>): MethodCodecs<P, R> {
  return Object.freeze({ params, result });
}

/** Every method's codecs, by wire name. */
export const CLIENT_METHODS = Object.freeze({
  "system.methods": pair(system.SystemMethodsParamsCodec, system.SystemMethodsResultCodec),
  "system.pool": pair(system.SystemPoolParamsCodec, system.SystemPoolResultCodec),
  "system.config": pair(system.SystemConfigParamsCodec, system.SystemConfigResultCodec),
  "system.echo": pair(system.SystemEchoParamsCodec, system.SystemEchoResultCodec),
  "worknode.create": pair(worknode.WorknodeCreateParamsCodec, worknode.WorknodeCreateResultCodec),
  "worknode.get": pair(worknode.WorknodeGetParamsCodec, worknode.WorknodeGetResultCodec),
  "worknode.update": pair(worknode.WorknodeUpdateParamsCodec, worknode.WorknodeUpdateResultCodec),
  "worknode.delete": pair(worknode.WorknodeDeleteParamsCodec, worknode.WorknodeDeleteResultCodec),
  "worknode.list": pair(worknode.WorknodeListParamsCodec, worknode.WorknodeListResultCodec),
  "sheaf.overlap": pair(sheaf.SheafOverlapMessageCodec, sheaf.SheafOverlapResultCodec),
  "sheaf.glue": pair(sheaf.SheafGlueParamsCodec, sheaf.SheafGlueResultCodec),
});

/** A method name the client knows. */
export type ClientMethod = keyof typeof CLIENT_METHODS;

/** The params type of method `M`. */
export type ParamsOf<M extends ClientMethod> = typeof CLIENT_METHODS[M] extends
  MethodCodecs<infer P, unknown> ? P : never;

/** The result type of method `M`. */
export type ResultOf<M extends ClientMethod> = typeof CLIENT_METHODS[M] extends
  MethodCodecs<unknown, infer R> ? R : never;

/** The codecs of `method`, or throws a TypeError for a name the client does not know. */
export function codecsOf(method: string): MethodCodecs<unknown, unknown> {
  if (!Object.hasOwn(CLIENT_METHODS, method)) {
    throw new TypeError(`Cannot call ${JSON.stringify(method)}: the client has no codec for it`);
  }
  return CLIENT_METHODS[method as ClientMethod] as MethodCodecs<unknown, unknown>;
}
