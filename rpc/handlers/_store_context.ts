/**
 * Helpers shared by the store-backed handlers (`worknode.*`, `sheaf.*`): the store from the
 * handler context and the request size limits derived from the domain limits.
 *
 * @module
 */

import { RpcError } from "../../errors/rpc_error.ts";
import type { HandlerContext, PoolPlanLike } from "../method.ts";
import type { Store } from "../../store/mod.ts";
import { messageBytesMax } from "../../pool/plan.ts";
import { DOMAIN_LIMITS } from "../../domain/limits.ts";

/** Request limit of methods that carry only ids, a version, a cursor (no property lists). */
export const SMALL_REQUEST_BYTES_MAX = 8192;

/** The store of the service, or `unavailable` when the service runs without one. */
export function storeOf(ctx: HandlerContext): Store {
  const store = ctx.services.store;
  if (store === null) {
    throw new RpcError("unavailable", "Cannot serve this method: the service has no store");
  }
  return store;
}

/**
 * The largest request carrying `propertyCount` properties (plus as many removed keys when
 * `withRemovedKeys`), never above the plan's largest message.
 */
export function propertyRequestBytesMax(
  plan: PoolPlanLike,
  propertyCount: number,
  options: { withRemovedKeys?: boolean } = {},
): number {
  const removedKeysBytes = options.withRemovedKeys
    ? propertyCount * (DOMAIN_LIMITS.keyBytesMax + 16)
    : 0;
  return Math.min(messageBytesMax(propertyCount) + removedKeysBytes, plan.messageBytesMax);
}
