/**
 * Building the call core at boot: the per-method request and decode limits under the plan
 * (checked once, so a bad limit fails the start, not a call), the batch limit, and the core
 * itself over the frozen method set.
 *
 * @module
 */

import type { Clock } from "../clock/mod.ts";
import type { Authenticator } from "./auth.ts";
import type { BinaryWire } from "./binary_wire.ts";
import { CallCore, type CoreLimits } from "./core.ts";
import { FairShares } from "./fair_share.ts";
import { JsonBudget } from "./json_budget.ts";
import type { MethodReadLimits, Services } from "./method.ts";
import { RpcMetrics } from "./metrics.ts";
import type { MethodRegistry } from "./registry.ts";
import type { RequestLog } from "./request_log.ts";
import type { RpcTracer } from "./tracing.ts";

/** The largest block of the plan (a message must fit one block). */
function blockBytesMaxOf(services: Services): number {
  const classes = services.plan.classes;
  return classes.length === 0 ? 0 : classes[classes.length - 1].blockSizeBytes;
}

/**
 * The per-method request limits: the method's own limit under the plan, clamped to the plan's
 * message maximum and the largest pool block (a request must fit one block).
 *
 * @example
 * ```ts
 * const limits = requestLimitsFor(registry, services); // limits[methodId]
 * ```
 */
export function requestLimitsFor(registry: MethodRegistry, services: Services): number[] {
  const blockBytesMax = blockBytesMaxOf(services);
  return registry.methods.map((spec) => {
    const own = spec.requestBytesMax(services.plan);
    if (!Number.isSafeInteger(own) || own < 0) {
      throw new RangeError(`Cannot build core: ${spec.name} has request limit ${own}`);
    }
    return Math.min(own, services.plan.messageBytesMax, blockBytesMax);
  });
}

/**
 * The per-method decode limits under the plan (null where a method names none).
 *
 * @example
 * ```ts
 * const limits = readLimitsFor(registry, services); // limits[methodId]?.listLengthMax
 * ```
 */
export function readLimitsFor(
  registry: MethodRegistry,
  services: Services,
): (MethodReadLimits | null)[] {
  return registry.methods.map((spec) => {
    if (spec.readLimits === undefined) return null;
    const limits = Object.freeze({ ...spec.readLimits(services.plan) });
    const lengthMax = limits.listLengthMax;
    if (lengthMax !== undefined && (!Number.isSafeInteger(lengthMax) || lengthMax < 0)) {
      throw new RangeError(`Cannot build core: ${spec.name} has listLengthMax ${lengthMax}`);
    }
    return limits;
  });
}

/** Options of `createCore`. */
export interface CreateCoreOptions {
  readonly registry: MethodRegistry;
  readonly clock: Clock;
  /** The binary wire; null = JSON only. */
  readonly binary: BinaryWire | null;
  /** Shared metrics; default: new ones over the registry's names. */
  readonly metrics?: RpcMetrics;
  readonly auth?: Authenticator | null;
  readonly requestLog?: RequestLog | null;
  readonly tracer?: RpcTracer | null;
  readonly limits?: Partial<CoreLimits>;
  /** The JSON decode budget; default JSON_BUDGET_BYTES_DEFAULT. */
  readonly jsonBudgetBytes?: number;
}

/**
 * The call core of a service.
 *
 * @example
 * ```ts
 * const core = createCore(services, { registry, clock, binary: createBinaryWire(registry, pool) });
 * ```
 */
export function createCore(services: Services, options: CreateCoreOptions): CallCore {
  const registry = options.registry;
  return new CallCore({
    registry,
    services,
    metrics: options.metrics ?? new RpcMetrics(registry.methods.map((m) => m.name)),
    requestBytesMax: requestLimitsFor(registry, services),
    readLimits: readLimitsFor(registry, services),
    batchBytesMax: Math.min(services.plan.messageBytesMax, blockBytesMaxOf(services)),
    binary: options.binary,
    clock: options.clock,
    auth: options.auth ?? null,
    requestLog: options.requestLog ?? null,
    tracer: options.tracer ?? null,
    shares: new FairShares(services.plan),
    jsonBudget: new JsonBudget(options.jsonBudgetBytes),
    limits: options.limits,
  });
}
