/**
 * Helpers shared by the store implementations: input validation, id generation, cursors and
 * the error shapes both stores throw.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import {
  DOMAIN_LIMITS,
  type Property,
  validateName,
  validateProperties,
  validateRemovedKeys,
  validateVersion,
} from "../domain/limits.ts";
import type { Conflict } from "../domain/sheaf.ts";
import type {
  CreateInput,
  DeleteInput,
  GlueInput,
  ListInput,
  OverlapInput,
  UpdateInput,
  Worknode,
} from "./types.ts";

const CURSOR_PREFIX = "c1.";

/**
 * A new id: 48 bits of milliseconds then 80 random bits, as 32 lowercase hex digits, so that
 * generated ids sort by creation time (the list order) and never collide in practice.
 */
export function newId(nowMs: number = Date.now()): string {
  const random = new Uint8Array(10);
  crypto.getRandomValues(random);
  let hex = Math.floor(nowMs).toString(16).padStart(12, "0").slice(-12);
  for (const byte of random) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** Encodes the last id of a page as an opaque cursor. */
export function encodeCursor(lastId: string): string {
  const bytes = new TextEncoder().encode(lastId);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return CURSOR_PREFIX + btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes a cursor back to the id after which the next page starts; "" means the start. */
export function decodeCursor(cursor: string | undefined): string {
  if (cursor === undefined || cursor === "") return "";
  const bad = () => new RpcError("invalid_argument", "Cannot list worknodes: malformed cursor");
  if (typeof cursor !== "string" || cursor.length > 256 || !cursor.startsWith(CURSOR_PREFIX)) {
    throw bad();
  }
  let id: string;
  try {
    const base64 = cursor.slice(CURSOR_PREFIX.length).replaceAll("-", "+").replaceAll("_", "/");
    id = atob(base64);
  } catch {
    throw bad();
  }
  try {
    validateName("id", id);
  } catch {
    throw bad();
  }
  return id;
}

/** Validates a create input and fills in the id. */
export function checkCreate(input: CreateInput): { id: string; kind: string } {
  validateName("kind", input.kind);
  const id = input.id === undefined || input.id === "" ? newId() : input.id;
  validateName("id", id);
  validateProperties(input.properties, {
    what: "properties",
    countMax: DOMAIN_LIMITS.propertiesPerWorknodeMax,
  });
  return { id, kind: input.kind };
}

/** Validates an update input. */
export function checkUpdate(input: UpdateInput): void {
  validateName("id", input.id);
  validateVersion("expectedVersion", input.expectedVersion);
  const setKeys = validateProperties(input.set, {
    what: "set",
    countMax: DOMAIN_LIMITS.propertiesPerWorknodeMax,
  });
  validateRemovedKeys(input.remove, setKeys);
}

/** Validates a delete input. */
export function checkDelete(input: DeleteInput): void {
  validateName("id", input.id);
  validateVersion("expectedVersion", input.expectedVersion);
}

/** Per-worknode encoding overhead in a list page: id, kind, version, times, list entry. */
export const WORKNODE_OVERHEAD_BYTES = 640;
/** Per-property encoding overhead: struct pointers, padding, JSON quotes and field names. */
export const PROPERTY_OVERHEAD_BYTES = 32;

/** Stored size of one worknode's properties, as the stores sum it in SQL. */
export interface PropertySize {
  readonly count: number;
  readonly bytes: number;
}

/**
 * How many of the page's worknodes (in order) fit in `bytesMax`, from their property sizes;
 * at least one, so a page always advances.
 */
export function pageCountFitting(
  ids: readonly string[],
  sizes: ReadonlyMap<string, PropertySize>,
  bytesMax: number,
): number {
  let totalBytes = 0;
  for (let i = 0; i < ids.length; i++) {
    const size = sizes.get(ids[i]) ?? { count: 0, bytes: 0 };
    totalBytes += WORKNODE_OVERHEAD_BYTES + size.bytes + size.count * PROPERTY_OVERHEAD_BYTES;
    if (totalBytes > bytesMax) return Math.max(1, i);
  }
  return ids.length;
}

/** Validates a list input and returns its normalized form. */
export function checkList(
  input: ListInput,
): { kind: string; afterId: string; limit: number; bytesMax: number } {
  const kind = input.kind ?? "";
  if (kind !== "") validateName("kind", kind);
  const limit = input.limit === undefined || input.limit === 0
    ? DOMAIN_LIMITS.listLimitDefault
    : input.limit;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > DOMAIN_LIMITS.listLimitMax) {
    throw new RpcError(
      "invalid_argument",
      `Cannot list worknodes: limit ${limit} is not within 1..${DOMAIN_LIMITS.listLimitMax}`,
    );
  }
  const bytesMax = input.bytesMax ?? DOMAIN_LIMITS.listPageBytesMax;
  if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) {
    throw new RangeError(`Cannot list worknodes: bytesMax ${bytesMax} is not a positive integer`);
  }
  return { kind, afterId: decodeCursor(input.cursor), limit, bytesMax };
}

/** Validates an overlap input (the per-overlap limit of the boot plan is the handler's). */
export function checkOverlapInput(input: OverlapInput): void {
  validateName("id", input.a);
  validateName("id", input.b);
  validateProperties(input.properties, {
    what: "overlap properties",
    countMax: DOMAIN_LIMITS.propertiesPerOverlapHardMax,
  });
}

/** Validates a glue input. */
export function checkGlue(input: GlueInput): void {
  checkOverlapInput(input);
  if (input.a === input.b) {
    throw new RpcError("invalid_argument", `Cannot glue worknode ${input.a} to itself`);
  }
  validateVersion("expectedVersionA", input.expectedVersionA);
  validateVersion("expectedVersionB", input.expectedVersionB);
  if (typeof input.resolve !== "boolean") {
    throw new RpcError("invalid_argument", "Cannot glue: resolve is not a boolean");
  }
}

/** The error for a missing worknode. */
export function notFound(id: string): RpcError {
  return new RpcError("not_found", `Cannot find worknode ${id}: it does not exist`, {
    details: { id },
  });
}

/** The error for a stale expectedVersion. */
export function staleVersion(id: string, expected: number, current: number): RpcError {
  return new RpcError(
    "aborted",
    `Cannot change worknode ${id}: expected version ${expected}, current version is ${current}`,
    { details: { id, currentVersion: current } },
  );
}

/** The error for a duplicate id on create. */
export function alreadyExists(id: string): RpcError {
  return new RpcError("already_exists", `Cannot create worknode ${id}: the id is taken`, {
    details: { id },
  });
}

/** The error for a change that would leave a worknode with too many properties. */
export function tooManyProperties(id: string, count: number): RpcError {
  return new RpcError(
    "invalid_argument",
    `Cannot change worknode ${id}: ${count} properties would exceed ${DOMAIN_LIMITS.propertiesPerWorknodeMax}`,
    { details: { id, count, countMax: DOMAIN_LIMITS.propertiesPerWorknodeMax } },
  );
}

/** How many conflicts a gluing refusal carries in its details, to bound the error's size. */
const CONFLICTS_IN_DETAILS_MAX = 64;

/** The error for a glue whose gluing condition does not hold and which was not resolved. */
export function gluingRefused(input: GlueInput, conflicts: Conflict[]): RpcError {
  return new RpcError(
    "failed_precondition",
    `Cannot glue ${input.a} and ${input.b}: they disagree on ${conflicts.length} overlap ` +
      `key(s), first ${JSON.stringify(conflicts[0].key)}; pass resolve: true to overwrite`,
    {
      details: {
        conflictCount: conflicts.length,
        conflicts: conflicts.slice(0, CONFLICTS_IN_DETAILS_MAX),
      },
    },
  );
}

/**
 * A row of the worknodes table as a driver returns it: SQLite gives numbers, PostgreSQL's
 * BIGINT columns may come back as decimal strings.
 */
export interface WorknodeRow {
  id: string;
  kind: string;
  version: string | number;
  created_at_ms: string | number;
  updated_at_ms: string | number;
}

/**
 * A worknode from its row and its properties (both stores).
 *
 * @example
 * ```ts
 * toWorknode({ id: "x", kind: "k", version: "1", created_at_ms: 5, updated_at_ms: 5 }, []);
 * ```
 */
export function toWorknode(row: WorknodeRow, properties: Property[]): Worknode {
  return {
    id: row.id,
    kind: row.kind,
    properties,
    version: Number(row.version),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}
