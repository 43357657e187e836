/**
 * PostgreSQL failures and the RpcErrors callers get for them: connection loss and server
 * shutdown are `unavailable`; the server's own conditions that stop writes (disk full,
 * read-only, I/O error) are `unavailable` faults and corruption a `data_loss` fault, both
 * recorded for readiness (`health.ts`).
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { StoreFault } from "./health.ts";
import { tooManyProperties } from "./_private.ts";

/** Connection-level failures reported by the driver (not SQLSTATEs). */
const DRIVER_UNAVAILABLE_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

/** SQLSTATEs that mean the server cannot serve us now (class 08, shutdown, recovery). */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" ||
    code === "53300";
}

function fault(rpcCode: StoreFault["rpcCode"], problem: string): StoreFault {
  return Object.freeze({ rpcCode, problem, sticky: rpcCode === "data_loss" });
}

/** The server conditions that stop writes, by SQLSTATE. */
const PG_FAULTS: ReadonlyMap<string, StoreFault> = new Map([
  ["53100", fault("unavailable", "the database server's disk is full (SQLSTATE 53100)")],
  ["25006", fault("unavailable", "the database is read-only (SQLSTATE 25006)")],
  ["58030", fault("unavailable", "the database server failed an I/O (SQLSTATE 58030)")],
  ["XX001", fault("data_loss", "the database is corrupt (SQLSTATE XX001)")],
  ["XX002", fault("data_loss", "an index of the database is corrupt (SQLSTATE XX002)")],
]);

/** The SQLSTATE our functions raise when a worknode would exceed its property limit. */
export const TOO_MANY_PROPERTIES_SQLSTATE = "WN001";

function codeOf(error: unknown): string {
  return String((error as { code?: unknown } | null)?.code ?? "");
}

/**
 * The server condition behind a driver error, or null when it is not one.
 *
 * @example
 * ```ts
 * pgFault({ code: "53100" })?.problem; // "the database server's disk is full (SQLSTATE 53100)"
 * ```
 */
export function pgFault(error: unknown): StoreFault | null {
  return PG_FAULTS.get(codeOf(error)) ?? null;
}

/** True when the driver lost (or never got) its connection, or the server is going away. */
export function isPgUnreachable(error: unknown): boolean {
  const code = codeOf(error);
  return DRIVER_UNAVAILABLE_CODES.has(code) || isUnavailableSqlState(code);
}

/**
 * Maps driver and server errors to RpcErrors where the meaning is clear; `found` is the fault
 * already classified by {@link pgFault}. The message names no host: clients see it.
 *
 * @example
 * ```ts
 * mapPgError({ code: "ECONNREFUSED" }, "w-1", null); // RpcError unavailable
 * ```
 */
export function mapPgError(error: unknown, id: string, found: StoreFault | null): unknown {
  if (error instanceof RpcError) return error;
  const code = codeOf(error);
  if (code === TOO_MANY_PROPERTIES_SQLSTATE) {
    // DETAIL is "<count>" (update) or "<count> <worknode id>" (glue).
    const [count, detailId] = String((error as { detail?: unknown }).detail ?? "").split(" ");
    return tooManyProperties(detailId ?? id, Number(count));
  }
  if (found !== null) {
    return new RpcError(found.rpcCode, `Cannot use the store: ${found.problem}`, { cause: error });
  }
  if (isPgUnreachable(error)) {
    return new RpcError("unavailable", `Cannot reach the store: ${code}`, { cause: error });
  }
  if (code === "40001" || code === "40P01") {
    return new RpcError("aborted", `Cannot complete the transaction: ${code}, retry`, {
      cause: error,
    });
  }
  return error;
}
