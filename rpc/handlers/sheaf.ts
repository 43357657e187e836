/**
 * The `sheaf.*` methods: check an overlap of two worknodes, and glue it into both.
 *
 * The number of overlap properties is bounded by the boot plan's `maxPropertiesPerOverlap`
 * (frozen at boot): the request size limit is derived from it, so a larger message is refused
 * before it is read, and the decoded list is checked against it again here.
 *
 * @module
 */

import { defineMethod, type HandlerContext, type PoolPlanLike } from "../method.ts";
import {
  SheafGlueParamsCodec,
  SheafGlueResultCodec,
  SheafOverlapMessageCodec,
  SheafOverlapResultCodec,
} from "../../schema/sheaf_capnp.ts";
import { type Property, validateProperties } from "../../domain/limits.ts";
import { propertyRequestBytesMax, storeOf } from "./_store_context.ts";

const overlapRequestBytesMax = (plan: PoolPlanLike) =>
  propertyRequestBytesMax(plan, plan.maxPropertiesPerOverlap);

function checkOverlapSize(properties: readonly Property[], ctx: HandlerContext): void {
  validateProperties(properties, {
    what: "overlap properties",
    countMax: ctx.services.plan.maxPropertiesPerOverlap,
  });
}

/** `sheaf.overlap SheafOverlapMessage -> {consistent, conflicts}`. */
export const sheafOverlap = defineMethod({
  name: "sheaf.overlap",
  mutating: false,
  requestBytesMax: overlapRequestBytesMax,
  params: SheafOverlapMessageCodec,
  result: SheafOverlapResultCodec,
  handle: (params, ctx) => {
    checkOverlapSize(params.properties, ctx);
    return storeOf(ctx).overlap({ a: params.a, b: params.b, properties: params.properties });
  },
});

/** `sheaf.glue {a, b, expectedVersionA, expectedVersionB, properties, resolve} -> versions`. */
export const sheafGlue = defineMethod({
  name: "sheaf.glue",
  mutating: true,
  requestBytesMax: overlapRequestBytesMax,
  params: SheafGlueParamsCodec,
  result: SheafGlueResultCodec,
  handle: (params, ctx) => {
    checkOverlapSize(params.properties, ctx);
    return storeOf(ctx).glue({
      a: params.a,
      b: params.b,
      expectedVersionA: params.expectedVersionA,
      expectedVersionB: params.expectedVersionB,
      properties: params.properties,
      resolve: params.resolve,
    });
  },
});

/** The sheaf methods, in table order. */
export const SHEAF_METHODS = [sheafOverlap, sheafGlue] as const;
