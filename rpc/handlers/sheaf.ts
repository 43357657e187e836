/**
 * The `sheaf.*` methods: check an overlap of two worknodes, and glue it into both.
 *
 * The number of overlap properties is bounded by the boot plan's `maxPropertiesPerOverlap`
 * (frozen at boot): the request size limit is derived from it, so a larger message is refused
 * before it is read; the list length is bounded by it while decoding (`readLimits`, both
 * wires), and the decoded list is checked against it again here, as defence in depth.
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
import { type Property, utf8ByteLength, validateProperties } from "../../domain/limits.ts";
import type { OverlapVerdict } from "../../domain/sheaf.ts";
import { RpcError } from "../../errors/rpc_error.ts";
import { propertyRequestBytesMax, storeOf } from "./_store_context.ts";

const overlapRequestBytesMax = (plan: PoolPlanLike) =>
  propertyRequestBytesMax(plan, plan.maxPropertiesPerOverlap);
/** The only lists in the sheaf params are the properties: every list gets the plan's bound. */
const overlapReadLimits = (plan: PoolPlanLike) => ({
  listLengthMax: plan.maxPropertiesPerOverlap,
});

/** Room in a response for the envelope; per conflict, its struct, pointers and padding. */
const RESPONSE_ENVELOPE_BYTES = 4096;
const CONFLICT_OVERHEAD_BYTES = 96;
/** How many conflicting keys a refusal names in its details. */
const CONFLICT_KEYS_IN_DETAILS_MAX = 64;

/**
 * Refuses, with the essential answer in the details, a verdict whose conflicts (up to three
 * values of 8 KiB each per key) would not fit the plan's largest message, instead of failing
 * later in encoding with a generic error.
 */
function checkVerdictFits(verdict: OverlapVerdict, ctx: HandlerContext): OverlapVerdict {
  const bytesMax = ctx.services.plan.messageBytesMax;
  let bytes = RESPONSE_ENVELOPE_BYTES;
  for (const c of verdict.conflicts) {
    bytes += CONFLICT_OVERHEAD_BYTES + utf8ByteLength(c.key) + utf8ByteLength(c.valueA) +
      utf8ByteLength(c.valueB) + utf8ByteLength(c.valueClaimed);
  }
  if (bytes <= bytesMax) return verdict;
  throw new RpcError(
    "resource_exhausted",
    `Cannot answer sheaf.overlap: the overlap is not consistent, and its ` +
      `${verdict.conflicts.length} conflicts take about ${bytes} bytes, over the ` +
      `${bytesMax}-byte message limit; check fewer keys per call`,
    {
      details: {
        consistent: false,
        conflictCount: verdict.conflicts.length,
        conflictKeys: verdict.conflicts.slice(0, CONFLICT_KEYS_IN_DETAILS_MAX).map((c) => c.key),
      },
    },
  );
}

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
  sideEffectFree: true,
  requestBytesMax: overlapRequestBytesMax,
  readLimits: overlapReadLimits,
  params: SheafOverlapMessageCodec,
  result: SheafOverlapResultCodec,
  handle: async (params, ctx) => {
    checkOverlapSize(params.properties, ctx);
    const overlap = { a: params.a, b: params.b, properties: params.properties };
    return checkVerdictFits(await storeOf(ctx).overlap(overlap), ctx);
  },
});

/** `sheaf.glue {a, b, expectedVersionA, expectedVersionB, properties, resolve} -> versions`. */
export const sheafGlue = defineMethod({
  name: "sheaf.glue",
  mutating: true,
  requestBytesMax: overlapRequestBytesMax,
  readLimits: overlapReadLimits,
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
