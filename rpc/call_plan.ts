/**
 * The shapes between the core and a call (`call.ts`): what the core checked of a call
 * (`AdmittedCall`) and admitted before its body (`CallPlan`), and the body side of an open call
 * as a transport drives it (`CallBody`).
 *
 * @module
 */

import type { RpcError } from "../errors/rpc_error.ts";
import type { Principal } from "./auth.ts";
import type { ShareAccount, ShareCharge } from "./fair_share.ts";
import type { WireKind } from "./media_type.ts";
import type { LeaseLike } from "./method.ts";
import type { Transport } from "./request_log.ts";

/** What the core admitted: everything a call needs before its body. */
export interface CallPlan {
  /** The method, or METHOD_ID_NONE for a batch. */
  readonly methodId: number;
  readonly wire: WireKind;
  /** The request block (null for an empty body). */
  readonly lease: LeaseLike | null;
  /** The block charged to the call's connection and principal (given back with the lease). */
  readonly charge: ShareCharge;
  /** A JSON call's heap allowance (json_budget.ts), given back once the call and its handler end. */
  readonly jsonCharge: number;
  readonly limitBytes: number;
  /** The declared body length, or -1. */
  readonly declaredBytes: number;
  readonly timeoutMs: number;
  /** A batch's principal (its calls' scopes are checked one by one); null otherwise. */
  readonly principal: Principal | null;
  readonly authorization: string | null;
  readonly transport: Transport;
  /** The connection's share account (an inflated body's block is charged to it too). */
  readonly share: ShareAccount | null;
  /** The body is gzip-coded: it is inflated into a block of its own once it is in. */
  readonly gzip: boolean;
  /** The call came as a GET: its answer is tagged (get_answer.ts). */
  readonly get: boolean;
  /** A GET's If-None-Match. */
  readonly ifNoneMatch: string | null;
}

/** The body side of an open call, as a transport drives it. */
export interface CallBody {
  /** More body bytes the call takes (the declared rest, or up to the limit). */
  readonly wantBytes: number;
  /** Whether the call still takes body bytes (not answered, not aborted). */
  readonly accepting: boolean;
  /** Whether the body was read to its end (the connection may then serve another request). */
  readonly bodyDone: boolean;
  /** Copies a chunk into the lease; false when the call takes no more body (it was answered). */
  push(chunk: Uint8Array): boolean;
  /**
   * The lease's room for the rest of the body, to read into directly; `commit` (or `abort`)
   * must follow, and until then the lease is not released.
   */
  room(): Uint8Array;
  /** Counts bytes read into `room()`; false when the call takes no more body. */
  commit(n: number): boolean;
  /** The body is complete: the call runs (its answer reaches the sink, maybe at once). */
  end(): void;
  /**
   * The transport found the body malformed (e.g. bad chunked framing): the call is answered
   * with `error` (a 400) and takes no more body.
   */
  fail(error: RpcError): void;
  /** The client went away: the call is canceled and never answered. Idempotent. */
  abort(reason?: unknown): void;
}

/** What the core checked of a call before its plan: its method, wire, caller and length. */
export interface AdmittedCall {
  readonly methodId: number;
  readonly wire: WireKind | null;
  readonly principal: Principal | null;
  /** The body's declared length (a GET: its decoded message's), or -1. */
  readonly declaredBytes: number;
  readonly get: boolean;
}
