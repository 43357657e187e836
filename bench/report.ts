/**
 * `deno task bench`: runs the project's benchmarks and regenerates the generated part of
 * docs/benchmarks.md (between `<!-- bench-report:begin -->` and `<!-- bench-report:end -->`),
 * every row a ratio against a baseline measured in the same run:
 * - the `deno bench --json` groups of bench/pool_bench.ts (leases vs JS allocation),
 *   bench/codec_bench.ts (Cap'n Proto vs JSON), bench/h3_bench.ts (h3 vs raw QUIC; h1/h2/h3)
 *   and bench/rpc_h1_bench.ts (in-process dispatch vs a bare handler);
 * - the wrk rounds of bench/rpc_h1_bench.ts (echo and unknown-method rejection vs bare
 *   `Deno.serve`), parsed from its output;
 * - RSS under overload (concurrent 1 MiB uploads): the service against a plain Hono app that
 *   buffers bodies with `arrayBuffer()`, each in its own process.
 *
 * Environment: BENCH_OVERLOAD_SECONDS (default 15), RPC_BENCH_ROUNDS (default 5),
 * BENCH_REPORT_OUT (default docs/benchmarks.md).
 *
 * @module
 */

import { buildOverloadSection } from "./_report_overload.ts";
import { type BenchRecord, groupTables, runDenoBench } from "./_report_deno_bench.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BEGIN = "<!-- bench-report:begin -->";
const END = "<!-- bench-report:end -->";

/** The bench files whose groups go into the report, with their extra environment. */
const BENCH_FILES: readonly { file: string; env?: Record<string, string> }[] = [
  { file: "bench/pool_bench.ts" },
  { file: "bench/codec_bench.ts" },
  { file: "bench/h3_bench.ts", env: { H3_BENCH_ROUNDS: Deno.env.get("H3_BENCH_ROUNDS") ?? "7" } },
  {
    file: "bench/rpc_h1_bench.ts",
    env: { RPC_BENCH_ROUNDS: Deno.env.get("RPC_BENCH_ROUNDS") ?? "5" },
  },
];

/** The wrk summary lines of rpc_h1_bench.ts as table rows. */
function wrkRows(text: string): string[] {
  const rows: string[] = [];
  const pick = (label: RegExp) => label.exec(text)?.[1];
  const line = (label: RegExp) => pick(label)?.trim() ?? "(not printed)";
  const echo = pick(/echo \/ bare \(median of rounds\):\s+([\d.]+)x/);
  const unknown = pick(/unknown \/ bare \(median of rounds\):\s+([\d.]+)x/);
  const echoRead = pick(/echo \/ bare-read \(median\):\s+([\d.]+)x/);
  rows.push(
    "| benchmark (wrk -t1 -c32, alternating rounds) | req/s per round | ratio to baseline |",
  );
  rows.push("| --- | --- | --- |");
  rows.push(
    `| bare \`Deno.serve\` (baseline for echo) | ${
      line(/bare Deno.serve \(before echo\):\s+([^\n]+)/)
    } | 1x |`,
  );
  rows.push(
    `| \`system.echo\` binary, HTTP/1.1 | ${line(/system.echo binary:\s+([\d, ]+)/)} | **${
      echo ?? "?"
    }x** (median) |`,
  );
  rows.push(
    `| bare \`Deno.serve\` reading the body | ${
      line(/bare Deno.serve reading the body:\s+([^\n]+)/)
    } | echo / this: **${echoRead ?? "?"}x** (median) |`,
  );
  rows.push(
    `| bare \`Deno.serve\` (baseline for unknown) | ${
      line(/bare Deno.serve \(before unknown\):\s+([^\n]+)/)
    } | 1x |`,
  );
  rows.push(
    `| unknown method -> 501 | ${line(/unknown method -> 501:\s+([^\n]+)/)} | **${
      unknown ?? "?"
    }x** (median) |`,
  );
  const allocs = pick(/pool allocations during unknown-method runs: (\d+)/);
  rows.push("");
  // CPU per request moves less than req/s on a shared box (see rpc_h1_bench.ts).
  rows.push(
    `Server CPU per request (median of rounds, µs): ${
      line(/server CPU µs per request \(median\):\s+([^\n]+)/)
    }. As ratios: ${line(/CPU per request, (bare \/ echo:[^\n]+)/)}`,
  );
  rows.push("");
  rows.push(`Pool allocations during the unknown-method runs: ${allocs ?? "?"} (target 0).`);
  return rows;
}

/** The alternating rounds of h3_bench.ts (h3 vs raw QUIC) as table rows. */
function h3Rows(text: string): string[] {
  const line = (label: RegExp) => label.exec(text)?.[1]?.trim() ?? "(not printed)";
  return [
    "| call (alternating rounds, 16 in flight on one connection) | ms per round | throughput vs raw QUIC |",
    "| --- | --- | --- |",
    `| raw QUIC stream echo (baseline) | ${line(/raw QUIC stream echo:\s+([^\n]+)/)} | 1x |`,
    `| h3 \`system.echo\` binary | ${line(/h3 system.echo binary:\s+([^\n]+)/)} | **${
      line(/h3 binary \/ raw \(median\):\s+([\d.]+)x/)
    }x** (median) |`,
    `| h3 \`system.echo\` JSON | ${line(/h3 system.echo JSON:\s+([^\n]+)/)} | **${
      line(/h3 JSON \/ raw \(median\):\s+([\d.]+)x/)
    }x** (median) |`,
  ];
}

/** Replaces the generated part of `path` (or appends it after the title when absent). */
async function writeReport(path: string, generated: string): Promise<void> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    text = "# Benchmarks\n";
  }
  const block = `${BEGIN}\n${generated}\n${END}`;
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin >= 0 && end > begin) {
    text = text.slice(0, begin) + block + text.slice(end + END.length);
  } else {
    const titleEnd = text.indexOf("\n") + 1;
    text = text.slice(0, titleEnd) + "\n" + block + "\n" + text.slice(titleEnd);
  }
  await Deno.writeTextFile(path, text);
  // The repo's `deno fmt --check` covers docs/: the generated tables are aligned the same way.
  const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", path] }).output();
  if (!fmt.success) {
    throw new Error(`Cannot format ${path}: ${new TextDecoder().decode(fmt.stderr)}`);
  }
}

async function main(): Promise<void> {
  const startedMs = Date.now();
  const records: BenchRecord[] = [];
  // Each file's printed text, parsed on its own (two files print lines that look alike).
  const texts = new Map<string, string>();
  for (const { file, env } of BENCH_FILES) {
    console.error(`bench report: running ${file}`);
    const run = await runDenoBench(`${ROOT}${file}`, env ?? {});
    records.push(...run.records);
    texts.set(file, run.text);
  }
  console.error("bench report: running the overload RSS comparison");
  const overload = await buildOverloadSection();
  const minutes = ((Date.now() - startedMs) / 60000).toFixed(1);
  const lines = [
    "## Generated report (`deno task bench`)",
    "",
    `Generated ${
      new Date().toISOString()
    } by \`deno task bench\` (bench/report.ts) in ${minutes} min ` +
    `on ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}. ` +
    "Every ratio compares a row with the baseline of its table, measured in the same run; the " +
    "box is shared, so expect ±15-20% between runs. Deno bench ratios are of the average time " +
    'per iteration ("2.0x faster" = half the baseline\'s time).',
    "",
    "### RPC over HTTP/1.1 against bare `Deno.serve` (wrk, separate processes)",
    "",
    ...wrkRows(texts.get("bench/rpc_h1_bench.ts") ?? ""),
    "",
    "### RPC over HTTP/3 against a raw QUIC stream echo (same client, alternating rounds)",
    "",
    ...h3Rows(texts.get("bench/h3_bench.ts") ?? ""),
    "",
    ...groupTables(records),
    overload,
    "",
    "The sections after this generated part are the owners' notes: how each benchmark works and " +
    "why; their tables are figures from earlier runs, the tables above are this run's.",
  ];
  const out = Deno.env.get("BENCH_REPORT_OUT") ?? `${ROOT}docs/benchmarks.md`;
  await writeReport(out, lines.join("\n"));
  console.error(`bench report: wrote ${out} (${minutes} min)`);
}

if (import.meta.main) await main();
