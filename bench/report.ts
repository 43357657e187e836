/**
 * `deno task bench`: runs the project's benchmarks and regenerates the generated part of
 * docs/benchmarks.md (between `<!-- bench-report:begin -->` and `<!-- bench-report:end -->`),
 * every row a ratio against a baseline measured in the same run:
 * - the service as shipped (`deno task start`'s flags, auth on, the request log to a file, the
 *   store open) on every transport against bare baselines (bench/shipped_bench.ts);
 * - RSS under overload on every transport, and against a plain Hono app (bench/_report_overload.ts);
 * - the `deno bench --json` groups of bench/pool_bench.ts (leases vs JS allocation),
 *   bench/codec_bench.ts (Cap'n Proto vs JSON), bench/auth_log_bench.ts (auth and request-log
 *   costs in process), bench/h3_bench.ts (h3 vs raw QUIC; h1/h2/h3, the service without auth or
 *   log) and bench/rpc_h1_bench.ts (in-process dispatch vs a bare handler);
 * - only when RPC_BENCH_ROUNDS or H3_BENCH_ROUNDS is set above 0: the alternating rounds of
 *   rpc_h1_bench.ts (wrk) and h3_bench.ts against the service without auth, log or store, as
 *   extra rows named so.
 *
 * Environment: BENCH_ROUNDS (default 3) and BENCH_LOAD_SECONDS (default 3) of the as-shipped
 * rows, BENCH_OVERLOAD_SECONDS (default 18), RPC_BENCH_ROUNDS and H3_BENCH_ROUNDS (default 0),
 * BENCH_REPORT_OUT (default docs/benchmarks.md).
 *
 * @module
 */

import { buildOverloadSection } from "./_report_overload.ts";
import { type BenchRecord, groupTables, runDenoBench } from "./_report_deno_bench.ts";
import { renderShippedSection } from "./_report_shipped.ts";
import { runShippedBench } from "./shipped_bench.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const BEGIN = "<!-- bench-report:begin -->";
const END = "<!-- bench-report:end -->";

/** Rounds of the older benches' own alternating loads (0: their `deno bench` groups only). */
const RPC_ROUNDS = Deno.env.get("RPC_BENCH_ROUNDS") ?? "0";
const H3_ROUNDS = Deno.env.get("H3_BENCH_ROUNDS") ?? "0";

/** The bench files whose groups go into the report, with their extra environment. */
const BENCH_FILES: readonly { file: string; env?: Record<string, string> }[] = [
  { file: "bench/pool_bench.ts" },
  { file: "bench/codec_bench.ts" },
  { file: "bench/auth_log_bench.ts" },
  { file: "bench/h3_bench.ts", env: { H3_BENCH_ROUNDS: H3_ROUNDS } },
  { file: "bench/rpc_h1_bench.ts", env: { RPC_BENCH_ROUNDS: RPC_ROUNDS } },
  { file: "bench/compression_bench.ts" },
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

/** The older benches' alternating rounds (the service without auth, log or store), when run. */
function extraRows(texts: Map<string, string>): string[] {
  const lines: string[] = [];
  if (Number(RPC_ROUNDS) > 0) {
    lines.push(
      "### Extra rows: HTTP/1.1 without auth, log or store (`rpc_h1_bench.ts`, wrk)",
      "",
      ...wrkRows(texts.get("bench/rpc_h1_bench.ts") ?? ""),
      "",
    );
  }
  // compression_bench.ts prints its size table (Markdown) at load time; its times are groups.
  const sizes = (texts.get("bench/compression_bench.ts") ?? "").split("\n")
    .filter((line) => line.startsWith("|"));
  if (sizes.length > 0) {
    lines.push(
      "### Answer compression: size and cost per KiB (`compression_bench.ts`)",
      "",
      "A 1,000-property verdict encoded, then compressed into a pool block as the service does; " +
        "the times are the `compression json` / `compression capnp` groups below.",
      "",
      ...sizes,
      "",
    );
  }
  if (Number(H3_ROUNDS) > 0) {
    lines.push(
      "### Extra rows: HTTP/3 without auth, log or store (`h3_bench.ts`)",
      "",
      ...h3Rows(texts.get("bench/h3_bench.ts") ?? ""),
      "",
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const startedMs = Date.now();
  console.error("bench report: running the as-shipped rows (bench/shipped_bench.ts)");
  const shipped = renderShippedSection(await runShippedBench());
  console.error("bench report: running the overload RSS rows");
  const overload = await buildOverloadSection();
  const records: BenchRecord[] = [];
  // Each file's printed text, parsed on its own (two files print lines that look alike).
  const texts = new Map<string, string>();
  // A bench file that fails is named in the report; the rest of the run still counts.
  const failures: string[] = [];
  for (const { file, env } of BENCH_FILES) {
    console.error(`bench report: running ${file}`);
    try {
      const run = await runDenoBench(`${ROOT}${file}`, env ?? {});
      records.push(...run.records);
      texts.set(file, run.text);
    } catch (error) {
      console.error(String(error));
      const reason = /error: \(in promise\) ([^\n]{0,160})/.exec(String(error))?.[1] ??
        "see stderr";
      failures.push(`**\`${file}\` failed** in this run: ${reason.replace(/[^ -~]/g, "")}`, "");
    }
  }
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
    ...shipped,
    overload,
    ...extraRows(texts),
    "### In-process and `deno bench` groups",
    "",
    "These measure code in process (pool, codec, auth and log costs, the call core against a bare " +
    "handler: bench/_rpc_in_process.ts) or, for `h3_bench.ts`, the service started in process " +
    "without auth, request log or store (tests/_h3_service.ts); the rows above are the service " +
    "as shipped.",
    "",
    ...failures,
    ...groupTables(records),
    "The sections after this generated part are the owners' notes: how each benchmark works and " +
    "why; their tables are figures from earlier runs, the tables above are this run's.",
  ];
  const out = Deno.env.get("BENCH_REPORT_OUT") ?? `${ROOT}docs/benchmarks.md`;
  await writeReport(out, lines.join("\n"));
  console.error(`bench report: wrote ${out} (${minutes} min)`);
}

if (import.meta.main) await main();
