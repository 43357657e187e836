/**
 * What the load benches read about a server process from /proc, and the median they report.
 *
 * @module
 */

/** Clock ticks per second of /proc/PID/stat's CPU times (USER_HZ). */
const CLOCK_TICKS_PER_S = await (async () => {
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    const ticks = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isSafeInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system) a process has used, in µs, from /proc/PID/stat; NaN off Linux. On a
 * shared box the server's CPU per request is steadier than req/s, which also depends on how much
 * CPU the other processes leave to the server and to the load generator.
 *
 * @example
 * ```ts
 * const before = cpuTimeUs(pid);
 * // ... load ...
 * const usPerRequest = (cpuTimeUs(pid) - before) / requests;
 * ```
 */
export function cpuTimeUs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 1e6 / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/**
 * The median of `values` (the upper one of an even count); NaN for none.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
