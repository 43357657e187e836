/**
 * What a call and a batch need from the core that opened them (`CallCore` implements it), as an
 * interface of its own so that `call.ts` and `batch.ts` do not import `core.ts` back.
 *
 * @module
 */

import type { ErrorCode } from "../errors/rpc_error.ts";
import type { CallAnswer } from "./answer.ts";
import type { BinaryWire } from "./binary_wire.ts";
import type { Clock } from "../clock/mod.ts";
import type { Authenticator, Principal } from "./auth.ts";
import type { ErrorAnswers } from "./error_answer.ts";
import type { FairShares, ShareAccount, ShareCharge } from "./fair_share.ts";
import type { JsonBudget } from "./json_budget.ts";
import type { LeaseLike, MethodReadLimits, Services } from "./method.ts";
import type { RejectReason, RpcMetrics } from "./metrics.ts";
import type { MethodRegistry } from "./registry.ts";
import type { Transport } from "./request_log.ts";
import type { RpcTracer } from "./tracing.ts";

/** The core's deps a call reads. */
export interface CallHostDeps {
  readonly registry: MethodRegistry;
  readonly services: Services;
  readonly metrics: RpcMetrics;
  readonly requestBytesMax: readonly number[];
  readonly readLimits: readonly (MethodReadLimits | null)[];
  readonly binary: BinaryWire | null;
  readonly clock: Clock;
  readonly auth: Authenticator | null;
  readonly tracer: RpcTracer | null;
  readonly shares: FairShares;
  readonly jsonBudget: JsonBudget;
}

/** What a finished call is recorded with. */
export interface RecordedCall {
  readonly methodId: number;
  readonly startMs: number;
  readonly transport: Transport;
  readonly bytesIn?: number;
}

/** Who a block is charged to (fair_share.ts). */
export interface BlockOwner {
  readonly share: ShareAccount | null;
  readonly principal: Principal | null;
  readonly methodId: number;
}

/** The core as its calls see it. */
export interface CallHost {
  readonly deps: CallHostDeps;
  readonly limits: { readonly bodyStallTimeoutMs: number };
  readonly errors: ErrorAnswers;
  /** The name of a method id in messages and logs (`batch` for a batch). */
  nameOf(methodId: number): string;
  /** Counts a finished call and writes its request-log line. */
  record(call: RecordedCall, code: ErrorCode | "ok", answer: CallAnswer): void;
  recordRejected(reason: RejectReason): void;
  /**
   * A block of at least `sizeBytes` charged to `owner` (a null lease for 0 bytes); throws the
   * 429 (over a share) or 503 (pool exhausted).
   */
  takeBlock(sizeBytes: number, owner: BlockOwner): { lease: LeaseLike | null; charge: ShareCharge };
  /** A JSON call's heap allowance for `sizeBytes` (json_budget.ts); throws the 503. */
  takeJson(sizeBytes: number, methodId: number): number;
}
