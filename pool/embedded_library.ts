/**
 * Opening libpool from inside a `deno compile` executable.
 *
 * `deno compile --include native/build/libpool.so` embeds the library in the executable's
 * virtual file system. `Deno.readFile` and `Deno.stat` see that file at its usual
 * import.meta-relative path, but the operating system's loader does not: dlopen(3) reads real
 * files only. So a compiled executable copies the bytes once, at boot, into a fresh private
 * directory (mode 0700, so no other user can swap the library between the write and the
 * dlopen), opens that copy, and removes it at once: on Linux a mapped library stays loaded after
 * its file is unlinked, so nothing is left behind in the temp directory, even after a crash.
 *
 * Deno 2.3 and later also copy an embedded library out by themselves when `Deno.dlopen` is given a
 * path inside the virtual file system (denoland/deno#28934), so either way loads here. This copy
 * is kept because it does not depend on that runtime behaviour (which cannot be exercised on a
 * machine without a denort runtime), and because it fixes where the copy lives, who may read it,
 * and that it is gone once mapped.
 *
 * @module
 */

/** The largest library this copies; libpool.so is ~16 KiB, so anything near this is wrong. */
export const EMBEDDED_LIBRARY_BYTES_MAX = 64 * 1024 * 1024;

/** A real-file copy of an embedded library. */
export interface ExtractedLibrary {
  /** The copy's path, inside a private directory of its own. */
  readonly path: string;
  /** Removes the copy and its directory. Idempotent. */
  remove(): void;
}

/** Options of {@link extractLibrary}. */
export interface ExtractLibraryOptions {
  /** The directory to create the private directory in; default: the system temp directory. */
  readonly tempDir?: string;
}

/**
 * Copies the library at `sourcePath` (which may live in a compiled executable's virtual file
 * system) into a new private directory and returns the copy's path.
 *
 * @example
 * ```ts
 * const copy = extractLibrary(defaultLibraryPath());
 * try {
 *   const lib = Deno.dlopen(copy.path, POOL_SYMBOLS);
 * } finally {
 *   copy.remove();
 * }
 * ```
 */
export function extractLibrary(
  sourcePath: string,
  options: ExtractLibraryOptions = {},
): ExtractedLibrary {
  if (typeof sourcePath !== "string" || sourcePath.length === 0) {
    throw new TypeError("Cannot extract library: sourcePath must be a non-empty string");
  }
  const sizeBytes = Deno.statSync(sourcePath).size;
  if (sizeBytes > EMBEDDED_LIBRARY_BYTES_MAX) {
    throw new RangeError(
      `Cannot extract library: ${sourcePath} is ${sizeBytes} bytes, exceeds ` +
        `${EMBEDDED_LIBRARY_BYTES_MAX}`,
    );
  }
  const bytes = Deno.readFileSync(sourcePath);
  const dir = Deno.makeTempDirSync({ dir: options.tempDir, prefix: "worknode-libpool-" });
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    Deno.removeSync(dir, { recursive: true });
  };
  try {
    // makeTempDir already creates 0700 on Linux; chmod states it rather than relying on it.
    Deno.chmodSync(dir, 0o700);
    const path = `${dir}/${sourcePath.split("/").pop()}`;
    Deno.writeFileSync(path, bytes, { mode: 0o700, createNew: true });
    return { path, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

/**
 * Whether libpool must be copied out before dlopen: true inside a `deno compile` executable,
 * where the library sits in the virtual file system.
 *
 * @example
 * ```ts
 * if (libraryNeedsExtraction()) console.log("running as a compiled executable");
 * ```
 */
export function libraryNeedsExtraction(): boolean {
  return Deno.build.standalone === true;
}
