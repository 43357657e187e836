/**
 * The memory budget of the slab pool: how many bytes libpool may map at boot.
 *
 * The budget is `--pool-bytes` when given. Otherwise it is {@link BUDGET_FRACTION} of the memory
 * this process may use: the smaller of `MemAvailable` (/proc/meminfo) and what is left under the
 * cgroup limit (v2 `memory.max - memory.current`, v1 `memory.limit_in_bytes -
 * memory.usage_in_bytes`, the tightest over this process's cgroup and its ancestors), clamped to
 * [{@link BUDGET_BYTES_AUTO_MIN}, {@link BUDGET_BYTES_AUTO_MAX}].
 *
 * Parsing takes file contents as strings and reads files through an injectable
 * {@link FileReader}, so tests run on fixture trees under `pool/testdata/`.
 *
 * Deno 2 refuses to read /proc and /sys without `--allow-all` (NotCapable), even with
 * `--allow-read`. Without them the budget falls back to Deno's own probes:
 * `Deno.systemMemoryInfo().available` (the same MemAvailable) and Node's
 * `process.constrainedMemory()` (the cgroup v1/v2 limit, version unknown, source `"cgroup"`),
 * minus this process's resident set as its usage (other processes in the group are not seen).
 * Both need only `--allow-sys`.
 *
 * @module
 */

import process from "node:process";

/** Where the budget came from. */
export const BUDGET_SOURCES = ["flag", "meminfo", "cgroup-v2", "cgroup-v1", "cgroup"] as const;

/**
 * Where the budget came from: the flag, MemAvailable, a cgroup v2/v1 limit read from /sys, or
 * (`"cgroup"`) a cgroup limit from `process.constrainedMemory()` when /sys is not readable.
 */
export type BudgetSource = typeof BUDGET_SOURCES[number];

/**
 * The share of usable memory the pool takes when `--pool-bytes` is not given. The rest is for
 * the V8 heap, the store (SQLite page cache), the TLS/QUIC stacks and other processes: the pool
 * holds only in-flight message bytes, so a quarter is generous without starving the rest.
 */
export const BUDGET_FRACTION = 0.25;

/** The smallest automatic budget (16 MiB): below it the service could hold almost no message. */
export const BUDGET_BYTES_AUTO_MIN = 16 * 1024 * 1024;

/**
 * The largest automatic budget (512 MiB): more in-flight message memory than two cores can fill,
 * and a bound on what a default start maps and prefaults on a large host (1 GiB took ~3 s to
 * prefault on the shared 2-core build box). `--pool-bytes` can go higher.
 */
export const BUDGET_BYTES_AUTO_MAX = 512 * 1024 * 1024;

/**
 * Cgroup values at or above 2^53 bytes mean "no limit": v1 reports an unlimited group as
 * 9223372036854771712 (PAGE_COUNTER_MAX pages), and no real limit is that large.
 */
export const CGROUP_BYTES_UNLIMITED_MIN = 2 ** 53;

/** Ancestors walked up from this process's cgroup: bounds the walk on hostile paths. */
const CGROUP_DEPTH_MAX = 64;

/** Where cgroup v2 (unified) and v1 (memory controller) hierarchies are mounted. */
const CGROUP_V2_ROOT = "/sys/fs/cgroup";
const CGROUP_V1_MEMORY_ROOT = "/sys/fs/cgroup/memory";

/** Reads a whole text file; returns null when it does not exist or cannot be read. */
export type FileReader = (path: string) => string | null;

/** The memory budget of the pool and how it was derived. */
export interface MemoryBudget {
  /** Bytes libpool may map (the plan's total is at most this). */
  readonly budgetBytes: number;
  readonly source: BudgetSource;
  /** The usable memory the budget was derived from; null when given by the flag. */
  readonly usableBytes: number | null;
}

/** A cgroup's limit with what it already uses; `limitBytes` null means unlimited. */
interface CgroupMemory {
  readonly limitBytes: number | null;
  readonly usedBytes: number;
}

/**
 * Returns `MemAvailable` in bytes from the text of /proc/meminfo.
 *
 * @example
 * ```ts
 * parseMemAvailableBytes("MemTotal: 100 kB\nMemAvailable: 2048 kB\n"); // 2097152
 * ```
 */
export function parseMemAvailableBytes(meminfoText: string): number {
  if (typeof meminfoText !== "string") {
    throw new TypeError("Cannot parse /proc/meminfo: contents must be a string");
  }
  const match = /^MemAvailable:[ \t]+(\d{1,15})[ \t]+kB$/m.exec(meminfoText.slice(0, 65536));
  if (match === null) {
    throw new RangeError("Cannot parse /proc/meminfo: no 'MemAvailable: N kB' line");
  }
  return Number(match[1]) * 1024;
}

/**
 * Parses a cgroup memory file (`memory.max`, `memory.current`, `memory.limit_in_bytes`, ...):
 * returns its bytes, or null for "max" and for values of at least 2^53 (no limit).
 *
 * @example
 * ```ts
 * parseCgroupBytes("536870912\n"); // 536870912
 * parseCgroupBytes("max\n"); // null
 * parseCgroupBytes("9223372036854771712\n"); // null
 * ```
 */
export function parseCgroupBytes(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "max") return null;
  if (!/^\d{1,20}$/.test(trimmed)) {
    throw new RangeError(`Cannot parse cgroup memory value: "${trimmed.slice(0, 40)}"`);
  }
  const bytes = BigInt(trimmed);
  if (bytes >= BigInt(CGROUP_BYTES_UNLIMITED_MIN)) return null;
  return Number(bytes);
}

/** This process's cgroup paths from /proc/self/cgroup (null where absent). */
export interface ProcCgroupPaths {
  /** The unified (v2) path from the `0::/path` line. */
  readonly v2Path: string | null;
  /** The v1 memory controller's path from the `N:...memory...:/path` line. */
  readonly v1MemoryPath: string | null;
}

/**
 * Parses /proc/self/cgroup into the v2 path and the v1 memory controller path.
 *
 * @example
 * ```ts
 * parseProcSelfCgroup("4:memory:/app\n0::/\n"); // { v2Path: "/", v1MemoryPath: "/app" }
 * ```
 */
export function parseProcSelfCgroup(text: string): ProcCgroupPaths {
  let v2Path: string | null = null;
  let v1MemoryPath: string | null = null;
  // A process is in at most a few dozen hierarchies; bound the lines read regardless.
  const lines = text.split("\n", 256);
  for (const line of lines) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second).split(",");
    const path = line.slice(second + 1);
    if (!path.startsWith("/")) continue;
    if (id === "0" && controllers.length === 1 && controllers[0] === "") v2Path = path;
    else if (controllers.includes("memory")) v1MemoryPath = path;
  }
  return { v2Path, v1MemoryPath };
}

/** Returns the directories from `root + path` up to `root`, deepest first, bounded. */
function cgroupDirsUpward(root: string, path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "" && part !== "." && part !== "..");
  const dirs: string[] = [];
  for (let depth = Math.min(parts.length, CGROUP_DEPTH_MAX); depth >= 0; depth--) {
    dirs.push(depth === 0 ? root : `${root}/${parts.slice(0, depth).join("/")}`);
  }
  return dirs;
}

/**
 * The tightest remaining memory (limit minus usage) over the given cgroup directories, or null
 * when no directory has a limit. A parent's limit caps its children, so every level counts.
 */
function tightestRemainingBytes(
  dirs: readonly string[],
  files: { limit: string; usage: string },
  read: FileReader,
): { remainingBytes: number | null; found: boolean } {
  let remainingBytes: number | null = null;
  let found = false;
  for (const dir of dirs) {
    const limitText = read(`${dir}/${files.limit}`);
    if (limitText === null) continue;
    found = true;
    const memory: CgroupMemory = {
      limitBytes: parseCgroupBytes(limitText),
      usedBytes: parseCgroupBytes(read(`${dir}/${files.usage}`) ?? "0") ?? 0,
    };
    if (memory.limitBytes === null) continue;
    const remaining = Math.max(0, memory.limitBytes - memory.usedBytes);
    if (remainingBytes === null || remaining < remainingBytes) remainingBytes = remaining;
  }
  return { remainingBytes, found };
}

/** The cgroup limit this process is under, with its version, or null when unlimited. */
export interface CgroupRemaining {
  readonly source: "cgroup-v2" | "cgroup-v1" | "cgroup";
  readonly remainingBytes: number;
}

/**
 * Finds the memory this process may still use under its cgroup limits (v2 first, then v1), or
 * null when no limit applies.
 *
 * @example
 * ```ts
 * const limit = readCgroupRemaining((path) => {
 *   try { return Deno.readTextFileSync(path); } catch { return null; }
 * });
 * ```
 */
export function readCgroupRemaining(read: FileReader): CgroupRemaining | null {
  const procText = read("/proc/self/cgroup");
  if (procText === null) return null;
  const paths = parseProcSelfCgroup(procText);
  if (paths.v2Path !== null) {
    const dirs = cgroupDirsUpward(CGROUP_V2_ROOT, paths.v2Path);
    const v2 = tightestRemainingBytes(dirs, { limit: "memory.max", usage: "memory.current" }, read);
    if (v2.remainingBytes !== null) {
      return { source: "cgroup-v2", remainingBytes: v2.remainingBytes };
    }
    // A v2 hierarchy with memory files is authoritative even when unlimited (pure v2 host).
    if (v2.found) return null;
  }
  if (paths.v1MemoryPath !== null) {
    const dirs = cgroupDirsUpward(CGROUP_V1_MEMORY_ROOT, paths.v1MemoryPath);
    const files = { limit: "memory.limit_in_bytes", usage: "memory.usage_in_bytes" };
    const v1 = tightestRemainingBytes(dirs, files, read);
    if (v1.remainingBytes !== null) {
      return { source: "cgroup-v1", remainingBytes: v1.remainingBytes };
    }
  }
  return null;
}

/**
 * A {@link FileReader} over the real filesystem, or over a fixture tree when `root` is given
 * (`/proc/meminfo` is read as `<root>/proc/meminfo`).
 *
 * @example
 * ```ts
 * const read = rootedFileReader("pool/testdata/cgroup_v2_limited");
 * read("/proc/self/cgroup");
 * ```
 */
export function rootedFileReader(root = ""): FileReader {
  const prefix = root.replace(/\/+$/, "");
  return (path: string): string | null => {
    try {
      return Deno.readTextFileSync(`${prefix}${path}`);
    } catch (error) {
      // NotCapable (Deno guards /proc and /sys behind --allow-all) propagates: memoryBudget
      // then falls back to its probes.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
        return null;
      }
      throw error;
    }
  };
}

/** Memory probes through Deno's APIs, for when /proc and /sys cannot be read. */
export interface MemoryProbes {
  /** MemAvailable in bytes. */
  memAvailableBytes(): number;
  /** The cgroup memory limit in bytes, or null when there is none. */
  cgroupLimitBytes(): number | null;
  /** This process's resident set in bytes (its share of the cgroup's usage). */
  rssBytes(): number;
}

/** The probes of a real Deno process (need `--allow-sys`). */
export const DENO_MEMORY_PROBES: MemoryProbes = Object.freeze({
  memAvailableBytes: () => Deno.systemMemoryInfo().available,
  cgroupLimitBytes: () => {
    const limit = process.constrainedMemory();
    // Node returns 0 for "no limit"; Deno may return the v1 "unlimited" sentinel instead.
    return limit > 0 && limit < CGROUP_BYTES_UNLIMITED_MIN ? limit : null;
  },
  rssBytes: () => Deno.memoryUsage().rss,
});

/** Runs `fromFiles`, or `fromProbes` when Deno refuses to read /proc or /sys. */
function filesOrProbes<T>(fromFiles: () => T, fromProbes: () => T): T {
  try {
    return fromFiles();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return fromProbes();
    throw error;
  }
}

/** MemAvailable from /proc/meminfo. */
function readMemAvailableBytes(read: FileReader): number {
  const meminfoText = read("/proc/meminfo");
  if (meminfoText === null) {
    throw new RangeError("Cannot compute the memory budget: /proc/meminfo is unreadable");
  }
  return parseMemAvailableBytes(meminfoText);
}

/** The cgroup limit from `process.constrainedMemory()` minus this process's resident set. */
function probeCgroupRemaining(probes: MemoryProbes): CgroupRemaining | null {
  const limitBytes = probes.cgroupLimitBytes();
  if (limitBytes === null) return null;
  return { source: "cgroup", remainingBytes: Math.max(0, limitBytes - probes.rssBytes()) };
}

/** Usable memory and its source: files when readable, else the probes. */
function usableMemory(
  read: FileReader,
  probes: MemoryProbes,
): { usableBytes: number; source: BudgetSource } {
  const memAvailableBytes = filesOrProbes(
    () => readMemAvailableBytes(read),
    () => probes.memAvailableBytes(),
  );
  const cgroup = filesOrProbes(() => readCgroupRemaining(read), () => probeCgroupRemaining(probes));
  if (cgroup !== null && cgroup.remainingBytes < memAvailableBytes) {
    return { usableBytes: cgroup.remainingBytes, source: cgroup.source };
  }
  return { usableBytes: memAvailableBytes, source: "meminfo" };
}

/** Options of {@link memoryBudget}. */
export interface MemoryBudgetOptions {
  /** `--pool-bytes`: when set, it is the budget exactly. */
  readonly poolBytes?: number | null;
  /** Reads /proc and /sys files; defaults to the real filesystem. */
  readonly read?: FileReader;
  /** Used when /proc files are unreadable; defaults to {@link DENO_MEMORY_PROBES}. */
  readonly probes?: MemoryProbes;
}

/**
 * Computes the pool's memory budget (see the module documentation for the rule).
 *
 * @example
 * ```ts
 * memoryBudget({ poolBytes: 64 * 1024 * 1024 }); // { budgetBytes: 67108864, source: "flag", ... }
 * memoryBudget(); // e.g. { budgetBytes: 536870912, source: "meminfo", usableBytes: 24e9 }
 * ```
 */
export function memoryBudget(options: MemoryBudgetOptions = {}): MemoryBudget {
  const poolBytes = options.poolBytes ?? null;
  if (poolBytes !== null) {
    if (!Number.isSafeInteger(poolBytes) || poolBytes <= 0) {
      throw new RangeError(`Cannot use pool bytes ${poolBytes}: must be a positive integer`);
    }
    return Object.freeze({ budgetBytes: poolBytes, source: "flag", usableBytes: null });
  }
  const read = options.read ?? rootedFileReader();
  const { usableBytes, source } = usableMemory(read, options.probes ?? DENO_MEMORY_PROBES);
  const fractionBytes = Math.floor(usableBytes * BUDGET_FRACTION);
  const budgetBytes = Math.min(
    BUDGET_BYTES_AUTO_MAX,
    Math.max(BUDGET_BYTES_AUTO_MIN, fractionBytes),
  );
  return Object.freeze({ budgetBytes, source, usableBytes });
}
