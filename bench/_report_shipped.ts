/**
 * The markdown of the as-shipped bench (bench/shipped_bench.ts): the configuration of every row
 * as command lines a user can rerun, one table per transport (req/s per round, the median ratio
 * to its baseline, server CPU per request, the answers), the request log's bytes per request, the
 * pool allocations of the unknown-method loads, and the targets of issues 12 and 14.
 *
 * @module
 */

import { UPDATE_IDS_PER_LOAD } from "./_call_rows.ts";
import {
  DENO_CLIENT_SHAPE,
  DENO_CLIENT_WARMUP_SECONDS,
  H2LOAD_FLAGS,
  WRK_FLAGS,
} from "./_load_generators.ts";
import { median } from "./_proc.ts";
import type { Measurement } from "./_shipped_measure.ts";
import { type LoadSpec, type TransportName, TRANSPORTS } from "./_shipped_loads.ts";

/** Everything the report needs. */
export interface ShippedResults {
  readonly rounds: number;
  readonly seconds: number;
  readonly specs: readonly LoadSpec[];
  /** Spec id -> one measurement per round. */
  readonly runs: ReadonlyMap<string, Measurement[]>;
  readonly seedCount: number;
  /** How the service was started. */
  readonly commandLine: string;
}

const TITLES: Record<TransportName, string> = {
  h1: "Plaintext HTTP/1.1 (`--plaintext-port`)",
  "tls-h1": "HTTP/1.1 over TLS (the TLS port, ALPN http/1.1)",
  h2: "HTTP/2 over TLS (the TLS port, ALPN h2)",
  h3: "HTTP/3 (the TLS port's number, UDP)",
};

const BASELINE_LABELS: Record<string, string> = {
  "h1/baseline": "bare `Deno.serve`, plaintext (baseline)",
  "tls-h1/baseline": "bare `Deno.serve` over TLS, http/1.1 (baseline)",
  "h2/baseline": "bare `Deno.serve` over TLS, h2 (baseline)",
  "h2/baseline-fetch": "bare `Deno.serve` over TLS, h2 (baseline of the update row)",
  "h3/baseline": "raw QUIC stream echo (baseline)",
};

/** The per-round ratios of `spec` to its baseline (req/s), or null for a baseline. */
function ratios(results: ShippedResults, spec: LoadSpec): number[] | null {
  if (spec.baselineId === null) return null;
  const base = results.runs.get(spec.baselineId)!;
  return results.runs.get(spec.id)!.map((m, i) => m.rps / base[i].rps);
}

/** The median ratio of the spec `id`, NaN when it did not run. */
export function medianRatio(results: ShippedResults, id: string): number {
  const spec = results.specs.find((s) => s.id === id);
  return spec === undefined ? NaN : median(ratios(results, spec) ?? []);
}

function answersText(spec: LoadSpec, runs: readonly Measurement[]): string {
  const unexpected = runs.reduce((n, m) => n + m.unexpected, 0);
  const status = spec.row?.status ?? 200;
  if (unexpected === 0) return `all ${status}`;
  return `**${unexpected} not ${status}** (${runs.map((m) => m.answers).join("; ")})`;
}

function tableOf(results: ShippedResults, transport: TransportName): string[] {
  const lines = [
    `#### ${TITLES[transport]}`,
    "",
    "| call | load | req/s per round | ratio to baseline (median) | server CPU µs/request (median) | answers |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const spec of results.specs.filter((s) => s.transport === transport)) {
    const runs = results.runs.get(spec.id)!;
    const perRound = runs.map((m) => Math.round(m.rps)).join(", ");
    const ratio = ratios(results, spec);
    const ratioText = ratio === null ? "1x" : `**${median(ratio).toFixed(2)}x**`;
    const cpu = median(runs.map((m) => m.cpuUsPerRequest)).toFixed(1);
    const label = spec.row?.label ?? BASELINE_LABELS[spec.id] ?? spec.id;
    lines.push(
      `| ${label} | ${spec.load} | ${perRound} | ${ratioText} | ${cpu} | ${
        answersText(spec, runs)
      } |`,
    );
  }
  lines.push("");
  return lines;
}

/** The command lines of the configuration, in words a user can rerun. */
function configuration(results: ShippedResults): string[] {
  const s = results.seconds;
  const h3 = DENO_CLIENT_SHAPE.h3;
  const h2 = DENO_CLIENT_SHAPE.h2;
  return [
    "Configuration (every row; rerun by hand with these commands):",
    "",
    `- **Service**: \`deno run -A bench/store_http_seed.ts sqlite DIR ${results.seedCount}\` ` +
    `(worknodes \`b-00000\`.., 16 properties of 64 bytes), then \`${results.commandLine}\` — the ` +
    "start task's flags, the default pool (auto), the SQLite store, auth on with the admin token " +
    "it generates (every call sends `Authorization: Bearer $(cat DIR/admin.token)`), the request " +
    "log at its default level (`info`) appended to a file.",
    "- **Baselines**, in one process of their own: `deno run -A --unstable-net " +
    "bench/_baseline_server.ts DIR/certs/leaf.pem DIR/certs/leaf.key ANSWER`, where ANSWER holds " +
    "the bytes the service answers the binary echo: bare `Deno.serve` answers them (plaintext, and " +
    "over TLS with ALPN h2 and http/1.1) without reading the body; a raw QUIC stream echo (ALPN " +
    "`echo`) sends the request back. Baseline loads post the binary echo's body, with no token.",
    "- **Bodies**: `deno run -A bench/_call_rows.ts BODIES` writes `BODIES/<row>.body`; " +
    "`worknode.get` reads `b-00000`; `worknode.update` cycles through " +
    `${UPDATE_IDS_PER_LOAD} fresh worknodes per load (\`expectedVersion\` tracked per worknode, ` +
    "every update succeeds unless one fails first: non-200 answers are counted).",
    `- **Plaintext h1 / TLS h1**: \`WN_TOKEN=$TOKEN WN_CONTENT_TYPE=TYPE WN_BODY_FILE=BODIES/ROW.body ` +
    `wrk ${
      WRK_FLAGS.join(" ")
    } -d${s}s -s bench/call_load.lua http://127.0.0.1:PLAIN/rpc/METHOD\` ` +
    "(`https://127.0.0.1:PORT/...` for TLS: wrk negotiates http/1.1); updates set " +
    "`WN_UPDATE_OFFSET=K WN_UPDATE_COUNT=1000` instead of `WN_BODY_FILE`.",
    `- **h2**: \`h2load ${
      H2LOAD_FLAGS.join(" ")
    } -D ${s} -d BODIES/ROW.body -H 'content-type: TYPE' ` +
    '-H "authorization: Bearer $TOKEN" https://127.0.0.1:PORT/rpc/METHOD`. h2load posts one ' +
    "fixed body, so the update row (and its own baseline) runs `deno run -A --unstable-net " +
    `bench/_deno_load_client.ts '{"transport":"h2",...}'\` (Deno's \`fetch\`, ${h2.connections} ` +
    `connections x ${h2.inFlight} streams).`,
    "- **h3**: `deno run -A --unstable-net bench/_deno_load_client.ts " +
    `'{"transport":"h3","port":PORT,...}'\` — the project's client (http3/client.ts), ` +
    `${h3.connections} QUIC connections x ${h3.inFlight} calls in flight; the baseline is the same ` +
    'client process with `"transport":"quic"` (raw streams). It runs ' +
    `${DENO_CLIENT_WARMUP_SECONDS} s before measuring (its own JIT warm-up).`,
    `- **Rounds**: ${results.rounds} rounds (BENCH_ROUNDS), each running every load above once ` +
    `for ${s} s (BENCH_LOAD_SECONDS), transport after transport, a baseline before its rows; ` +
    "every load also ran once for 1 s before the rounds (not counted). Server CPU per request is " +
    "the server process's user + system time (/proc/PID/stat) over the measured part / its " +
    "requests: steadier than req/s on a shared box.",
    "",
  ];
}

/** Target lines: `value >= target`, met or not. */
function targets(results: ShippedResults): string[] {
  const allocs = (transport: TransportName) =>
    (results.runs.get(`${transport}/unknown`) ?? []).reduce((n, m) => n + (m.poolAllocs ?? 0), 0);
  const check = (what: string, id: string, target: number, extra = true) => {
    const value = medianRatio(results, id);
    const met = value >= target && extra;
    return `- ${what}: **${value.toFixed(2)}x** (target >= ${target}x: ${
      met ? "met" : "**not met**"
    })`;
  };
  return [
    'Targets (issue 12 and 14, "Done when"), medians of this run:',
    "",
    check("plaintext h1 binary echo / bare `Deno.serve`", "h1/binaryEcho", 0.85),
    check(
      `plaintext h1 unknown method / bare (pool allocations: ${allocs("h1")})`,
      "h1/unknown",
      0.9,
      allocs("h1") === 0,
    ),
    check("plaintext h1 `worknode.get` / bare", "h1/get", 0.6),
    check("h3 binary echo / raw QUIC echo", "h3/binaryEcho", 0.8),
    check("TLS h1 binary echo / bare `Deno.serve` over TLS h1", "tls-h1/binaryEcho", 0.85),
    check("h2 binary echo / bare `Deno.serve` over h2 (h2load)", "h2/binaryEcho", 1.0),
    "",
  ];
}

/** The request log's bytes per request and the unknown rows' pool allocations, per transport. */
function sideFacts(results: ShippedResults): string[] {
  const logBytes = TRANSPORTS.map((t) => {
    const values = results.specs.filter((s) => s.transport === t && s.row !== null)
      .flatMap((s) => results.runs.get(s.id)!.map((m) => m.logBytesPerRequest ?? NaN));
    return `${t} ${median(values).toFixed(0)}`;
  });
  const allocs = TRANSPORTS.map((t) =>
    `${t} ${(results.runs.get(`${t}/unknown`) ?? []).reduce((n, m) => n + (m.poolAllocs ?? 0), 0)}`
  );
  return [
    `Request-log bytes written to the file per request (median over the service's loads): ${
      logBytes.join(", ")
    } ` +
    "(a line per call: the log is on).",
    "",
    `Pool allocations during the unknown-method loads: ${allocs.join(", ")} (target 0).`,
    "",
  ];
}

/**
 * The section's markdown lines.
 *
 * @example
 * ```ts
 * console.log(renderShippedSection(await runShippedBench()).join("\n"));
 * ```
 */
export function renderShippedSection(results: ShippedResults): string[] {
  return [
    "### The service as shipped, on every transport, against bare baselines (`bench/shipped_bench.ts`)",
    "",
    ...configuration(results),
    ...TRANSPORTS.flatMap((transport) => tableOf(results, transport)),
    ...sideFacts(results),
    ...targets(results),
  ];
}
