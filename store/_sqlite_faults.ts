/**
 * SQLite result codes that mean the store itself is failing (disk full, read-only, I/O error,
 * corruption) or busy, and the RpcErrors callers get for them.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { StoreFault } from "./health.ts";

/** Primary result codes (the low byte of an extended code), from sqlite3.h. */
export const SQLITE_CODES = {
  PERM: 3,
  BUSY: 5,
  LOCKED: 6,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  NOTADB: 26,
} as const;

/** What each store condition means, by primary code. */
const FAULTS: ReadonlyMap<number, StoreFault> = new Map([
  [SQLITE_CODES.FULL, fault("unavailable", "the disk is full (SQLITE_FULL)")],
  [SQLITE_CODES.READONLY, fault("unavailable", "the database is read-only (SQLITE_READONLY)")],
  [SQLITE_CODES.PERM, fault("unavailable", "access to the database is denied (SQLITE_PERM)")],
  [SQLITE_CODES.IOERR, fault("unavailable", "the database failed an I/O (SQLITE_IOERR)")],
  [
    SQLITE_CODES.CANTOPEN,
    fault("unavailable", "a database file cannot be opened (SQLITE_CANTOPEN)"),
  ],
  [SQLITE_CODES.CORRUPT, fault("data_loss", "the database is corrupt (SQLITE_CORRUPT)")],
  [SQLITE_CODES.NOTADB, fault("data_loss", "the database file is not a database (SQLITE_NOTADB)")],
]);

function fault(rpcCode: StoreFault["rpcCode"], problem: string): StoreFault {
  return Object.freeze({ rpcCode, problem, sticky: rpcCode === "data_loss" });
}

/**
 * SQLite's fixed texts of the primary codes (`sqlite3_errstr`), for the errors node:sqlite
 * throws without `errcode`: those of `DatabaseSync.exec` (BEGIN, COMMIT, pragmas) carry only
 * the message, and a COMMIT that fails on a full disk is such an error.
 */
const CODE_BY_MESSAGE: ReadonlyMap<string, number> = new Map([
  ["access permission denied", SQLITE_CODES.PERM],
  ["database is locked", SQLITE_CODES.BUSY],
  ["database table is locked", SQLITE_CODES.LOCKED],
  ["attempt to write a readonly database", SQLITE_CODES.READONLY],
  ["disk I/O error", SQLITE_CODES.IOERR],
  ["database disk image is malformed", SQLITE_CODES.CORRUPT],
  ["database or disk is full", SQLITE_CODES.FULL],
  ["unable to open database file", SQLITE_CODES.CANTOPEN],
  ["file is not a database", SQLITE_CODES.NOTADB],
]);

/** The primary result code of a node:sqlite error, or null for anything else. */
export function sqlitePrimaryCode(error: unknown): number | null {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode === "number") return errcode & 0xff;
  if ((error as { code?: unknown } | null)?.code !== "ERR_SQLITE_ERROR") return null;
  return CODE_BY_MESSAGE.get((error as Error).message) ?? null;
}

/**
 * The store condition behind a node:sqlite error, or null when the error is not one.
 *
 * @example
 * ```ts
 * sqliteFault({ errcode: 13 })?.problem; // "the disk is full (SQLITE_FULL)"
 * ```
 */
export function sqliteFault(error: unknown): StoreFault | null {
  const code = sqlitePrimaryCode(error);
  return code === null ? null : FAULTS.get(code) ?? null;
}

/** True for a lock held by another handle too long (busy_timeout passed). */
export function isSqliteBusy(error: unknown): boolean {
  const code = sqlitePrimaryCode(error);
  return code === SQLITE_CODES.BUSY || code === SQLITE_CODES.LOCKED;
}

/**
 * The RpcError a caller gets for `error`: a store condition becomes `unavailable` or
 * `data_loss` (the message names no file: clients see it; the log names it), a lock timeout
 * `unavailable`; anything else passes through unchanged.
 *
 * @example
 * ```ts
 * toSqliteRpcError({ errcode: 13 }, null); // RpcError unavailable "Cannot use the store: ..."
 * ```
 */
export function toSqliteRpcError(error: unknown, found: StoreFault | null): unknown {
  if (error instanceof RpcError) return error;
  if (found !== null) {
    return new RpcError(found.rpcCode, `Cannot use the store: ${found.problem}`, { cause: error });
  }
  if (isSqliteBusy(error)) {
    return new RpcError("unavailable", "Cannot reach the store: the database is locked", {
      cause: error,
    });
  }
  return error;
}
