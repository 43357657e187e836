/**
 * The `system.*` methods: introspection of the frozen method set, pool and limits, and echo.
 * They know nothing of HTTP; they read only the boot services.
 *
 * @module
 */

import {
  MAX_PROPERTIES_MAX,
  PROPERTY_KEY_BYTES_MAX,
  PROPERTY_VALUE_BYTES_MAX,
} from "../../pool/plan.ts";
import {
  SystemConfigParamsCodec,
  SystemConfigResultCodec,
  SystemEchoParamsCodec,
  SystemEchoResultCodec,
  SystemMethodsParamsCodec,
  SystemMethodsResultCodec,
  SystemPoolParamsCodec,
  SystemPoolResultCodec,
} from "../../schema/system_capnp.ts";
import { defineMethod, type PoolPlanLike } from "../method.ts";
import { poolClassCounters } from "../pool_counters.ts";

/** Request limit of the parameterless system methods (an envelope and an empty struct). */
export const SYSTEM_REQUEST_BYTES_MAX = 1024;

/** Request limit of `system.echo`: 1 MiB, or less when the plan's messages are smaller. */
export const ECHO_REQUEST_BYTES_MAX = 1024 * 1024;

const smallRequest = () => SYSTEM_REQUEST_BYTES_MAX;

/** `system.methods {} -> {methods}`: every method's name, id, request limit and scope. */
export const systemMethods = defineMethod({
  name: "system.methods",
  mutating: false,
  sideEffectFree: true,
  requestBytesMax: smallRequest,
  params: SystemMethodsParamsCodec,
  result: SystemMethodsResultCodec,
  handle: (_params, ctx) => {
    const plan = ctx.services.plan;
    return {
      methods: ctx.services.registry.methods.map((spec, id) => ({
        name: spec.name,
        id,
        requestBytesMax: Math.min(spec.requestBytesMax(plan), plan.messageBytesMax),
        mutating: spec.mutating,
      })),
    };
  },
});

/** `system.pool {} -> {regionBytes, classes}`: the pool's per-class counters. */
export const systemPool = defineMethod({
  name: "system.pool",
  mutating: false,
  sideEffectFree: true,
  requestBytesMax: smallRequest,
  params: SystemPoolParamsCodec,
  result: SystemPoolResultCodec,
  handle: (_params, ctx) => {
    const stats = ctx.services.pool.stats();
    return {
      regionBytes: stats.regionBytes,
      classes: stats.classes.map((c) => ({
        ...poolClassCounters(c),
        bytesRequestedInUse: c.bytesRequestedInUse,
      })),
    };
  },
});

/** `system.config {} -> {...}`: the limits frozen at boot. */
export const systemConfig = defineMethod({
  name: "system.config",
  mutating: false,
  sideEffectFree: true,
  requestBytesMax: smallRequest,
  params: SystemConfigParamsCodec,
  result: SystemConfigResultCodec,
  handle: (_params, ctx) => {
    const plan = ctx.services.plan;
    return {
      maxPropertiesPerOverlap: plan.maxPropertiesPerOverlap,
      messageBytesMax: plan.messageBytesMax,
      poolBytes: plan.totalBytes,
      profile: plan.profile ?? "",
      rpcTimeoutMsMax: ctx.services.config.rpcTimeoutMsMax,
      keyBytesMax: PROPERTY_KEY_BYTES_MAX,
      valueBytesMax: PROPERTY_VALUE_BYTES_MAX,
      propertiesPerWorknodeMax: MAX_PROPERTIES_MAX,
    };
  },
});

/** `system.echo {payload} -> {payload}`: answers its payload (benchmarks, smoke tests). */
export const systemEcho = defineMethod({
  name: "system.echo",
  mutating: false,
  sideEffectFree: true,
  // The payload is answered as is: a view of the request block is enough (no 1 MiB copy).
  paramsDataViews: true,
  requestBytesMax: (plan: PoolPlanLike) => Math.min(ECHO_REQUEST_BYTES_MAX, plan.messageBytesMax),
  params: SystemEchoParamsCodec,
  result: SystemEchoResultCodec,
  handle: (params) => ({ payload: params.payload }),
});

/** The system methods, in table order. */
export const SYSTEM_METHODS = [systemMethods, systemPool, systemConfig, systemEcho] as const;
