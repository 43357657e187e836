/**
 * The `deno bench --json` half of the bench report: runs one bench file, parses its JSON, and
 * renders each group that has a baseline as a markdown table of ratios.
 *
 * @module
 */

/** One benchmark from `deno bench --json`. */
export interface BenchRecord {
  readonly origin: string;
  readonly group: string | null;
  readonly name: string;
  readonly baseline: boolean;
  /** Average ns per iteration, or null when the benchmark failed. */
  readonly avgNs: number | null;
  readonly p75Ns: number | null;
}

/** What one bench file run gave: its benchmarks and everything it printed besides the JSON. */
export interface BenchRun {
  readonly records: BenchRecord[];
  readonly text: string;
}

interface JsonBench {
  origin: string;
  group: string | null;
  name: string;
  baseline: boolean;
  results: { ok?: { avg: number; p75: number } }[];
}

/**
 * Runs `deno bench --unstable-net -A --json FILE` and parses it. The file's own console output
 * (e.g. wrk tables printed at load time) comes back as `text`.
 *
 * @example
 * ```ts
 * const run = await runDenoBench("bench/pool_bench.ts", {});
 * ```
 */
export async function runDenoBench(file: string, env: Record<string, string>): Promise<BenchRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "--unstable-net", "-A", "--no-prompt", "--json", file],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const start = stdout.lastIndexOf('{\n  "version"');
  if (!output.success || start < 0) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(`Cannot run ${file}: exit ${output.code}\n${stdout.slice(-2000)}\n${stderr}`);
  }
  const parsed = JSON.parse(stdout.slice(start)) as { benches: JsonBench[] };
  const records = parsed.benches.map((b) => ({
    origin: b.origin,
    group: b.group,
    name: b.name,
    baseline: b.baseline,
    avgNs: b.results[0]?.ok?.avg ?? null,
    p75Ns: b.results[0]?.ok?.p75 ?? null,
  }));
  return { records, text: stdout.slice(0, start) };
}

/** A duration in ns as the bench summary prints it. */
export function formatNs(ns: number | null): string {
  if (ns === null) return "failed";
  if (ns < 1_000) return `${ns.toFixed(1)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  if (ns < 1_000_000_000) return `${(ns / 1_000_000).toFixed(2)} ms`;
  return `${(ns / 1_000_000_000).toFixed(2)} s`;
}

/** `baseline / row` as "N.NNx faster" or "N.NNx slower". */
export function ratioText(baselineNs: number | null, rowNs: number | null): string {
  if (baselineNs === null || rowNs === null || rowNs <= 0 || baselineNs <= 0) return "n/a";
  const ratio = baselineNs / rowNs;
  return ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`;
}

/** The file name of a bench origin URL. */
function fileOf(origin: string): string {
  return origin.slice(origin.lastIndexOf("/") + 1);
}

/**
 * One markdown table per group that has a baseline, in the order the groups first appear.
 *
 * @example
 * ```ts
 * console.log(groupTables(run.records).join("\n"));
 * ```
 */
export function groupTables(records: readonly BenchRecord[]): string[] {
  const groups = new Map<string, BenchRecord[]>();
  for (const record of records) {
    if (record.group === null) continue;
    const key = `${fileOf(record.origin)}\u0000${record.group}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(record);
  }
  const lines: string[] = [];
  for (const [key, members] of groups) {
    const baseline = members.find((m) => m.baseline);
    if (baseline === undefined) continue;
    const [file, group] = key.split("\u0000");
    lines.push(`### ${group} (\`${file}\`)`, "");
    lines.push("| benchmark | avg | p75 | ratio to baseline |", "| --- | --- | --- | --- |");
    for (const m of members) {
      const ratio = m === baseline ? "1x (baseline)" : `**${ratioText(baseline.avgNs, m.avgNs)}**`;
      lines.push(`| ${m.name.trim()} | ${formatNs(m.avgNs)} | ${formatNs(m.p75Ns)} | ${ratio} |`);
    }
    lines.push("");
  }
  return lines;
}
