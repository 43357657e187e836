/**
 * The method table contract: what a handler is, what it is given, and the structural shapes of
 * the services (pool, plan, config, store) the RPC layer consumes from the other folders.
 *
 * The service shapes are structural on purpose: `pool/`, `config/` and `store/` export the real
 * classes, and anything that satisfies these shapes can be handed to the RPC layer (tests use
 * tiny real pools).
 *
 * @module
 */

import type { StructCodec } from "../capnp/mod.ts";
import type { Store } from "../store/mod.ts";

/** A block of pool memory, viewed (never transferred) until released. */
export interface LeaseLike {
  /** The block view. Never detach or transfer it (docs/design.md invariant 4). */
  readonly bytes: Uint8Array;
  /** Returns the block to the pool; a second call throws. */
  release(): void;
}

/** Statistics of one pool class, as `system.pool` reports them. */
export interface PoolClassStatsLike {
  readonly blockSizeBytes: number;
  readonly blocksTotal: number;
  readonly blocksInUse: number;
  readonly blocksInUseHighWatermark: number;
  readonly allocTotal: number;
  readonly allocFailuresTotal: number;
  readonly bytesRequestedInUse: number;
}

/** Statistics of the whole pool. */
export interface PoolStatsLike {
  readonly regionBytes: number;
  readonly classes: readonly PoolClassStatsLike[];
}

/** The slab pool as the RPC layer uses it. */
export interface PoolLike {
  /** A block of at least `sizeBytes`, or null when the fitting class is exhausted. */
  tryAcquire(sizeBytes: number): LeaseLike | null;
  /** Blocks currently leased, over all classes. */
  inUseCount(): number;
  /** Per-class counters. */
  stats(): PoolStatsLike;
}

/** One class of the boot plan. */
export interface PoolPlanClassLike {
  readonly blockSizeBytes: number;
  readonly blockCount: number;
}

/** The boot plan as the RPC layer reads it. */
export interface PoolPlanLike {
  readonly classes: readonly PoolPlanClassLike[];
  readonly totalBytes: number;
  readonly maxPropertiesPerOverlap: number;
  readonly messageBytesMax: number;
  readonly profile?: string;
}

/** The configuration fields the RPC layer reads. */
export interface RpcConfigLike {
  readonly rpcTimeoutMsMax: number;
  /** Exact origins granted CORS (rpc/web_policy.ts); absent = none. */
  readonly corsOrigins?: readonly string[];
  /** Cache-Control of GET answers; absent = `private, no-cache`. */
  readonly cacheControl?: string;
  /** Answers of at least this many bytes are compressed; null = never; absent = 1024. */
  readonly compressMinBytes?: number | null;
}

/** The store (`store/mod.ts`); null when a service runs without one (tests, benches). */
export type StoreLike = Store;

/** The frozen method set, as handlers see it (for `system.methods`). */
export interface RegistryView {
  /** Every method in id order. */
  readonly methods: readonly MethodSpec<unknown, unknown>[];
}

/** Everything a handler may use. Built once at boot, frozen. */
export interface Services {
  readonly store: StoreLike | null;
  readonly pool: PoolLike;
  readonly plan: PoolPlanLike;
  readonly config: RpcConfigLike;
  readonly registry: RegistryView;
}

/** What a handler receives besides its params. */
export interface HandlerContext {
  /** Aborted on client disconnect or deadline. */
  readonly signal: AbortSignal;
  /** Date.now()-based absolute deadline. */
  readonly deadlineAtMs: number;
  readonly services: Services;
}

/** The codec of one schema struct (binary + JSON), generated in `schema/*_capnp.ts`. */
export type { StructCodec };

/**
 * Limits a method's params are decoded under, on top of the codec's defaults and the schema's
 * annotations (both wires): every list in the params holds at most `listLengthMax` elements.
 */
export interface MethodReadLimits {
  readonly listLengthMax?: number;
}

/** One RPC method: name, limits, codecs and the handler. */
export interface MethodSpec<P, R> {
  /** The wire name, e.g. `"worknode.create"` (ASCII, at most 64 bytes). */
  readonly name: string;
  /** Whether the method needs a write-scope token. */
  readonly mutating: boolean;
  /** The largest request body this method accepts under the boot plan. */
  readonly requestBytesMax: (plan: PoolPlanLike) => number;
  /** Decode limits under the boot plan (computed once at boot); absent = the defaults. */
  readonly readLimits?: (plan: PoolPlanLike) => MethodReadLimits;
  readonly params: StructCodec<P>;
  readonly result: StructCodec<R>;
  /**
   * Binary calls only: the params' Data fields are views of the request's pool block instead of
   * heap copies, and the block stays leased until the handler (and its promise) has settled.
   * Only for handlers that keep no Data past that point (`system.echo`: its 1 MiB payload would
   * otherwise be a 1 MiB heap copy per call, garbage that drives RSS under load). Default false.
   */
  readonly paramsDataViews?: boolean;
  /**
   * The method has no side effect (it reads the store or computes from its params only), so it
   * may also be called with GET (docs/design.md, "Read-only calls over GET"). Never together
   * with `mutating`. Default false: GET is answered 405.
   */
  readonly sideEffectFree?: boolean;
  /**
   * The opaque part of a GET answer's entity tag, derived from the result (letters, digits,
   * `.`, `-` and `_` only), so a matching If-None-Match is answered 304 before the result is
   * encoded. Absent: the tag is a hash of the encoded answer (rpc/etag.ts).
   */
  readonly etag?: (result: R) => string;
  readonly handle: (params: P, ctx: HandlerContext) => R | Promise<R>;
}

/** A method of any params/result types, as the table stores it. */
// deno-lint-ignore no-explicit-any
export type AnyMethodSpec = MethodSpec<any, any>;

/**
 * Defines a method with its types inferred; a no-op at run time that freezes the spec.
 *
 * @example
 * ```ts
 * const ping = defineMethod({
 *   name: "system.ping",
 *   mutating: false,
 *   requestBytesMax: () => 64,
 *   params: emptyCodec,
 *   result: emptyCodec,
 *   handle: () => ({}),
 * });
 * ```
 */
export function defineMethod<P, R>(spec: MethodSpec<P, R>): MethodSpec<P, R> {
  return Object.freeze({ ...spec });
}
