/**
 * The Store contract: the durable operations on worknodes that both the SQLite and the
 * PostgreSQL implementations provide with the same behaviour.
 *
 * Errors are `RpcError`s from `errors/rpc_error.ts`: `invalid_argument` for bad input,
 * `already_exists` for a duplicate id, `not_found`, `aborted` (stale expectedVersion, details
 * `{ currentVersion }`), `failed_precondition` (gluing condition does not hold, details
 * `{ conflicts }`), `unavailable` (the database cannot be reached, its disk is full, it is
 * read-only or failing I/O: retriable), `data_loss` (the database is corrupt).
 *
 * Versions never go backwards for an id: a delete leaves a tombstone with the last version, and
 * re-creating the id continues from it (`store/tombstones.ts`), so a stale `expectedVersion`
 * from before a delete always fails with `aborted`.
 *
 * @module
 */

import type { Property } from "../domain/limits.ts";
import type { Conflict, OverlapVerdict } from "../domain/sheaf.ts";
import type { StoreHealthReport } from "./health.ts";

export type { Conflict, OverlapVerdict, Property, StoreHealthReport };

/** A worknode as stored: properties sorted by key (bytewise). */
export interface Worknode {
  readonly id: string;
  readonly kind: string;
  readonly properties: Property[];
  readonly version: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Input of `create`; an absent or empty id makes the store generate one. */
export interface CreateInput {
  readonly kind: string;
  readonly properties: readonly Property[];
  readonly id?: string;
}

/** Input of `update`: keys to set (insert or replace) and keys to remove (absent keys ignored). */
export interface UpdateInput {
  readonly id: string;
  readonly expectedVersion: number;
  readonly set: readonly Property[];
  readonly remove: readonly string[];
}

/** Input of `delete`. */
export interface DeleteInput {
  readonly id: string;
  readonly expectedVersion: number;
}

/** Input of `list`: kind `""`/absent = any, cursor `""`/absent = start, limit 0/absent = 100. */
export interface ListInput {
  readonly kind?: string;
  readonly cursor?: string;
  readonly limit?: number;
  /**
   * Upper bound of the page's encoded size (estimated before any property is loaded): the page
   * ends early, with a cursor, rather than exceed it. At least one worknode is always returned.
   * Default `DOMAIN_LIMITS.listPageBytesMax`.
   */
  readonly bytesMax?: number;
}

/** A page of `list`, in ascending id order; `nextCursor` is `""` at the end. */
export interface ListPage {
  readonly worknodes: Worknode[];
  readonly nextCursor: string;
}

/** Input of `overlap`: the two worknodes and the overlap's claimed values. */
export interface OverlapInput {
  readonly a: string;
  readonly b: string;
  readonly properties: readonly Property[];
}

/** Input of `glue`. */
export interface GlueInput {
  readonly a: string;
  readonly b: string;
  readonly expectedVersionA: number;
  readonly expectedVersionB: number;
  readonly properties: readonly Property[];
  readonly resolve: boolean;
}

/** Result of `glue`: both new versions. */
export interface GlueResult {
  readonly versionA: number;
  readonly versionB: number;
}

/** Which implementation a store is. */
export type StoreKind = "sqlite" | "postgres";

/** Durable worknode storage. Every method validates its input at the boundary. */
export interface Store {
  readonly kind: StoreKind;
  /**
   * Creates a worknode: at version 1, or one above the version its id had when it was last
   * deleted (or above the version floor once old tombstones were purged).
   */
  create(input: CreateInput): Promise<{ id: string; version: number }>;
  /** Reads a worknode with all its properties. */
  get(id: string): Promise<Worknode>;
  /** Applies set/remove if the version matches, bumping it by one. */
  update(input: UpdateInput): Promise<{ version: number }>;
  /** Deletes a worknode and its properties if the version matches, leaving a tombstone. */
  delete(input: DeleteInput): Promise<void>;
  /** One page of worknodes in ascending id order. */
  list(input: ListInput): Promise<ListPage>;
  /** Checks an overlap against a and b, read in one transaction. */
  overlap(input: OverlapInput): Promise<OverlapVerdict>;
  /** Writes the overlap into a and b in one transaction when the gluing condition holds. */
  glue(input: GlueInput): Promise<GlueResult>;
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>;
  /**
   * Whether the store can take writes now (readiness): the last store failure while held, else
   * a write probe that writes no user data (`store/health.ts`). Never rejects for a store
   * condition; callers bound its time (`storeReadinessProblem`).
   */
  health(): Promise<StoreHealthReport>;
  /** Releases connections and file handles; idempotent. */
  close(): Promise<void>;
}
