/**
 * The data directory check at start: the directory must exist (it is created when missing) and
 * take a write, or the service refuses to start with one clear line (exit 2) instead of failing
 * later inside SQLite or the certificate generator.
 *
 * @module
 */

import { join } from "node:path";

/** The data directory cannot be used; the message is the one line to print. */
export class DataDirError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataDirError";
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * Creates `path` when missing, checks it is a directory, and proves it writable by creating,
 * writing and removing a probe file (a real write, so it also holds for root, for whom
 * permission bits do not apply, and for read-only mounts). Throws {@link DataDirError}.
 *
 * @example
 * ```ts
 * await ensureDataDir("./data");
 * ```
 */
export async function ensureDataDir(path: string): Promise<void> {
  const fail = (what: string, error?: unknown): never => {
    const reason = error === undefined ? "" : `: ${reasonOf(error)}`;
    throw new DataDirError(`Cannot use data directory ${path}: ${what}${reason}`, {
      cause: error,
    });
  };
  try {
    await Deno.mkdir(path, { recursive: true });
  } catch (error) {
    fail("it cannot be created", error);
  }
  const info = await Deno.stat(path).catch((error) => fail("it cannot be read", error));
  if (!info.isDirectory) fail("it is not a directory");
  const probe = join(path, `.write-probe-${Deno.pid}`);
  try {
    await Deno.writeTextFile(probe, "ok", { createNew: true });
  } catch (error) {
    fail("it is not writable", error);
  }
  await Deno.remove(probe).catch((error) => fail("a probe file cannot be removed", error));
}
