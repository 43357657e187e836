/**
 * The data directory check at start: the directory must exist (it is created when missing),
 * be private and take a write, or the service refuses to start with one clear line (exit 2)
 * instead of failing later inside SQLite or the certificate generator.
 *
 * Privacy: the directory holds the database, the admin token and the development keys, so it is
 * made 0700 (a new one is created so; an existing one with group or other bits is set to 0700,
 * and the caller is told, to log it). A world-writable directory is refused: anyone could have
 * put a file or a symbolic link where the service writes (admin.token, tokens.json, the
 * database), and setting its mode now would not undo that.
 *
 * @module
 */

import { join } from "node:path";

/** The mode of the data directory. */
export const DATA_DIR_MODE = 0o700;
/** The "others may write" permission bit. */
const WORLD_WRITABLE_BIT = 0o002;

/** The data directory cannot be used; the message is the one line to print. */
export class DataDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataDirError";
  }
}

/** What {@link ensureDataDir} did that the operator should hear about. */
export interface DataDirReport {
  /** One sentence per notable change (e.g. a mode set to 0700), to log as warnings. */
  readonly warnings: readonly string[];
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/** The permission bits as four octal digits, e.g. `0755`. */
export function octalMode(mode: number): string {
  return "0" + (mode & 0o777).toString(8).padStart(3, "0");
}

/**
 * Creates `path` when missing (mode 0700), checks it is a directory that is not world-writable,
 * sets it to 0700, and proves it writable by creating, writing and removing a probe file (a
 * real write, so it also holds for root, for whom permission bits do not apply, and for
 * read-only mounts). Throws {@link DataDirError}.
 *
 * @example
 * ```ts
 * const { warnings } = await ensureDataDir("./data");
 * ```
 */
export async function ensureDataDir(path: string): Promise<DataDirReport> {
  const fail = (what: string, error?: unknown): never => {
    const reason = error === undefined ? "" : `: ${reasonOf(error)}`;
    throw new DataDirError(`Cannot use data directory ${path}: ${what}${reason}`, {
      cause: error,
    });
  };
  const existed = await Deno.lstat(path).then(() => true, () => false);
  try {
    await Deno.mkdir(path, { recursive: true, mode: DATA_DIR_MODE });
  } catch (error) {
    fail("it cannot be created", error);
  }
  const info = await Deno.stat(path).catch((error) => fail("it cannot be read", error));
  if (!info.isDirectory) fail("it is not a directory");
  const mode = info.mode ?? DATA_DIR_MODE;
  if ((mode & WORLD_WRITABLE_BIT) !== 0) {
    fail(`it is world-writable (mode ${octalMode(mode)}); run chmod 700 on it and start again`);
  }
  const warnings: string[] = [];
  if ((mode & 0o777) !== DATA_DIR_MODE) {
    // mkdir's mode passes through the umask; an existing directory keeps whatever it had.
    await Deno.chmod(path, DATA_DIR_MODE).catch((error) => fail("it cannot be made 0700", error));
    if (existed) {
      warnings.push(`data directory ${path} had mode ${octalMode(mode)}; it is now 0700`);
    }
  }
  const probe = join(path, `.write-probe-${Deno.pid}`);
  try {
    await Deno.writeTextFile(probe, "ok", { createNew: true });
  } catch (error) {
    fail("it is not writable", error);
  }
  await Deno.remove(probe).catch((error) => fail("a probe file cannot be removed", error));
  return { warnings };
}
