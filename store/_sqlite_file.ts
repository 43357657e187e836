/**
 * The SQLite store's files: their modes, and the probe of free room beside them.
 *
 * Modes: SQLite creates a database with mode 0644 (less the umask) and gives its `-wal` and
 * `-shm` files the database file's mode. So the database file is created here first, empty,
 * with 0600 (an empty file is an empty database to SQLite), and an existing one (and its WAL and
 * SHM) loses any group and other permission: whatever the umask, no other user can read
 * worknodes.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { StoreFault } from "./health.ts";

/** The mode of the database, WAL and SHM files. */
export const SQLITE_FILE_MODE = 0o600;
/** The suffixes of the files SQLite keeps beside the database in WAL mode. */
const COMPANION_SUFFIXES = ["-wal", "-shm"] as const;
/** How much free room the file probe asks for beside the database. */
export const WRITE_PROBE_FILE_BYTES = 1024 * 1024;
/**
 * The probe files' name prefix in the database's directory; each probe's file is its own
 * (`<prefix><pid>-<n>`), so handles probing at once never remove each other's.
 */
export const WRITE_PROBE_FILE_PREFIX = ".store-write-probe-";

let probeCount = 0;

const PROBE_BYTES = new Uint8Array(WRITE_PROBE_FILE_BYTES);

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * Takes every group and other permission off `path` when it exists. Owner bits stay as they
 * are: a database the operator made read-only (0400, 0444) stays read-only.
 */
function restrict(path: string): void {
  let mode: number | null;
  try {
    mode = Deno.statSync(path).mode;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(path, mode & SQLITE_FILE_MODE);
}

/**
 * Creates the database file with mode 0600 when missing, and takes group and other permissions
 * off an existing database, WAL and SHM. Throws with a message naming the file.
 *
 * @example
 * ```ts
 * prepareDatabaseFiles("./data/worknode.sqlite");
 * ```
 */
export function prepareDatabaseFiles(path: string): void {
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: SQLITE_FILE_MODE }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new Error(`Cannot create database ${path}: ${reasonOf(error)}`, { cause: error });
    }
  }
  for (const file of [path, ...COMPANION_SUFFIXES.map((suffix) => path + suffix)]) {
    try {
      restrict(file);
    } catch (error) {
      throw new Error(`Cannot make ${file} private: ${reasonOf(error)}`, { cause: error });
    }
  }
}

/** The fault a failed probe write means, by errno name. */
function fileFault(error: unknown): StoreFault {
  const code = String((error as { code?: unknown } | null)?.code ?? "");
  const problem = code === "ENOSPC" || code === "EDQUOT"
    ? `the disk is full (${code}: no room for ${WRITE_PROBE_FILE_BYTES} bytes)`
    : code === "EROFS"
    ? "the database's file system is read-only (EROFS)"
    : `the database's directory cannot take a write (${code || reasonOf(error)})`;
  return { rpcCode: "unavailable", problem, sticky: false };
}

/**
 * Writes and removes {@link WRITE_PROBE_FILE_BYTES} of zeros beside the database: null when the
 * file system took them, else the fault (disk full, read-only). The probe is removed even when
 * the write failed half-way; `createNew` never follows a link planted at its name.
 *
 * @example
 * ```ts
 * const fault = await probeRoomBeside("./data/worknode.sqlite");
 * ```
 */
export async function probeRoomBeside(databasePath: string): Promise<StoreFault | null> {
  const name = `${WRITE_PROBE_FILE_PREFIX}${Deno.pid}-${probeCount++}`;
  const probe = join(dirname(databasePath), name);
  try {
    await Deno.writeFile(probe, PROBE_BYTES, { createNew: true, mode: SQLITE_FILE_MODE });
    return null;
  } catch (error) {
    return fileFault(error);
  } finally {
    await Deno.remove(probe).catch(() => {});
  }
}

/**
 * Removes probe files a crashed process left beside the database (at most one per crash). A
 * live process's probe removed here only loses its name: its write still completes.
 *
 * @example
 * ```ts
 * removeStaleProbes("./data/worknode.sqlite");
 * ```
 */
export function removeStaleProbes(databasePath: string): void {
  const dir = dirname(databasePath);
  // Bounded by the directory's entries; the data directory holds a handful.
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || !entry.name.startsWith(WRITE_PROBE_FILE_PREFIX)) continue;
    try {
      Deno.removeSync(join(dir, entry.name));
    } catch {
      // Gone already (its own process removed it): nothing to do.
    }
  }
}
