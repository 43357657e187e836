/**
 * The `worknode.*` methods: create, get, update, delete and list worknodes in the store.
 * Limits are checked by the store at its boundary (key, value, count, duplicate keys, names) and
 * surface as `invalid_argument`; versions conflicts as `aborted` with `{ currentVersion }`.
 *
 * @module
 */

import { defineMethod, type PoolPlanLike } from "../method.ts";
import {
  WorknodeCreateParamsCodec,
  WorknodeCreateResultCodec,
  WorknodeDeleteParamsCodec,
  WorknodeDeleteResultCodec,
  WorknodeGetParamsCodec,
  WorknodeGetResultCodec,
  WorknodeListParamsCodec,
  WorknodeListResultCodec,
  WorknodeUpdateParamsCodec,
  WorknodeUpdateResultCodec,
} from "../../schema/worknode_capnp.ts";
import { DOMAIN_LIMITS } from "../../domain/limits.ts";
import { hashTextHex } from "../etag.ts";
import { propertyRequestBytesMax, SMALL_REQUEST_BYTES_MAX, storeOf } from "./_store_context.ts";

const smallRequest = () => SMALL_REQUEST_BYTES_MAX;

/** Room left in a list response for the envelope and the next cursor. */
const LIST_ENVELOPE_BYTES = 4096;

/** `worknode.create {kind, properties, id} -> {id, version}`; `id: ""` = generated. */
export const worknodeCreate = defineMethod({
  name: "worknode.create",
  mutating: true,
  requestBytesMax: (plan: PoolPlanLike) =>
    propertyRequestBytesMax(plan, DOMAIN_LIMITS.propertiesPerWorknodeMax),
  params: WorknodeCreateParamsCodec,
  result: WorknodeCreateResultCodec,
  handle: (params, ctx) =>
    storeOf(ctx).create({ kind: params.kind, properties: params.properties, id: params.id }),
});

/**
 * `worknode.get {id} -> {worknode}`; over GET its tag is the worknode's version and a hash of
 * its id, so a client holding the current version gets a 304 without the result being encoded.
 */
export const worknodeGet = defineMethod({
  name: "worknode.get",
  mutating: false,
  sideEffectFree: true,
  etag: (result) => `wn.${result.worknode.version}.${hashTextHex(result.worknode.id)}`,
  requestBytesMax: smallRequest,
  params: WorknodeGetParamsCodec,
  result: WorknodeGetResultCodec,
  handle: async (params, ctx) => ({ worknode: await storeOf(ctx).get(params.id) }),
});

/** `worknode.update {id, expectedVersion, set, remove} -> {version}`. */
export const worknodeUpdate = defineMethod({
  name: "worknode.update",
  mutating: true,
  requestBytesMax: (plan: PoolPlanLike) =>
    propertyRequestBytesMax(plan, DOMAIN_LIMITS.propertiesPerWorknodeMax, {
      withRemovedKeys: true,
    }),
  params: WorknodeUpdateParamsCodec,
  result: WorknodeUpdateResultCodec,
  handle: (params, ctx) =>
    storeOf(ctx).update({
      id: params.id,
      expectedVersion: params.expectedVersion,
      set: params.set,
      remove: params.remove,
    }),
});

/** `worknode.delete {id, expectedVersion} -> {}`. */
export const worknodeDelete = defineMethod({
  name: "worknode.delete",
  mutating: true,
  requestBytesMax: smallRequest,
  params: WorknodeDeleteParamsCodec,
  result: WorknodeDeleteResultCodec,
  handle: async (params, ctx) => {
    await storeOf(ctx).delete({ id: params.id, expectedVersion: params.expectedVersion });
    return {};
  },
});

/**
 * `worknode.list {kind, cursor, limit} -> {worknodes, nextCursor}`, in ascending id order; a page
 * ends early (with a cursor) when more worknodes would not fit the plan's largest message.
 */
export const worknodeList = defineMethod({
  name: "worknode.list",
  mutating: false,
  sideEffectFree: true,
  requestBytesMax: smallRequest,
  params: WorknodeListParamsCodec,
  result: WorknodeListResultCodec,
  handle: (params, ctx) =>
    storeOf(ctx).list({
      kind: params.kind,
      cursor: params.cursor,
      limit: params.limit,
      // The page must fit one message of the plan's largest class, envelope included.
      bytesMax: Math.max(1, ctx.services.plan.messageBytesMax - LIST_ENVELOPE_BYTES),
    }),
});

/** The worknode methods, in table order. */
export const WORKNODE_METHODS = [
  worknodeCreate,
  worknodeGet,
  worknodeUpdate,
  worknodeDelete,
  worknodeList,
] as const;
