/**
 * The service as shipped, on every transport, against bare baselines of the same run:
 * `deno run -A --unstable-net bench/shipped_bench.ts` prints the markdown section that
 * `deno task bench` puts into docs/benchmarks.md.
 *
 * The service is `main.ts` with exactly `deno task start`'s flags (bench/_shipped_service.ts):
 * the default pool, auth on (the generated admin token on every call), the request log at its
 * default level appended to a file, the SQLite store open and seeded. Each transport has its
 * rows — binary and JSON `system.echo`, `worknode.get`, `worknode.update`, an unknown method —
 * and its baseline in a process of its own (bench/_baseline_server.ts): bare `Deno.serve`
 * (plaintext, TLS h1, TLS h2) answering the very bytes the service answers a binary echo, and a
 * raw QUIC stream echo for HTTP/3. Every load is one process (wrk, h2load or
 * bench/_deno_load_client.ts), bounded in time; a round runs every load of every transport once,
 * and each row's ratio is the median over rounds of row / its baseline in that round. Before the
 * rounds every load runs once for one second (the servers' JIT warm-up, not counted).
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_LOAD_SECONDS (default 3), BENCH_SERVICE_ROOT (another
 * checkout to measure instead of this one, e.g. an older commit's worktree; default: this one).
 *
 * @module
 */

import { CALL_ROWS, ROW_NAMES, UPDATE_IDS_PER_LOAD } from "./_call_rows.ts";
import { renderShippedSection, type ShippedResults } from "./_report_shipped.ts";
import { BodyFiles, measure, type Measurement, UpdateRanges } from "./_shipped_measure.ts";
import { allSpecs, type Servers } from "./_shipped_loads.ts";
import { shippedCommandLine, startShippedService } from "./_shipped_service.ts";

const BASELINE_SERVER = new URL("./_baseline_server.ts", import.meta.url).pathname;
const WARMUP_SECONDS = 1;

function envNumber(name: string, fallback: number, max: number): number {
  const text = Deno.env.get(name);
  const value = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new RangeError(`Invalid ${name}: ${text} is not an integer in 1..${max}`);
  }
  return value;
}

/** Starts the baseline process; resolves with its ports once it listens. */
async function startBaseline(certPath: string, keyPath: string, answerPath: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", BASELINE_SERVER, certPath, keyPath, answerPath],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (let i = 0; i < 1000 && !text.includes("\n"); i++) {
    const { value, done } = await reader.read();
    if (done) throw new Error("baseline server exited before listening");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const ports = JSON.parse(text.split("\n")[0]);
  return {
    ports: { pid: child.pid, ...ports } as Servers["baseline"],
    async stop() {
      await child.stdin.close();
      await child.status;
    },
  };
}

/**
 * One call of every fixed-body row over plaintext h1, TLS h1 and h2 (Deno's fetch), each
 * checked for its status: wrk only counts non-2xx answers, h2load status classes.
 */
async function preflight(servers: Servers): Promise<void> {
  const caCerts = [await Deno.readTextFile(servers.svc.caPath)];
  const clients = {
    "tls-h1": Deno.createHttpClient({ caCerts, http1: true, http2: false }),
    h2: Deno.createHttpClient({ caCerts, http1: false, http2: true }),
  };
  const tls = `https://127.0.0.1:${servers.svc.port}`;
  try {
    for (const name of ROW_NAMES.filter((n) => n !== "update")) {
      const row = CALL_ROWS[name];
      const targets = [
        { transport: "h1", url: `${servers.svc.plainUrl}${row.path}`, client: undefined },
        { transport: "tls-h1", url: `${tls}${row.path}`, client: clients["tls-h1"] },
        { transport: "h2", url: `${tls}${row.path}`, client: clients.h2 },
      ];
      for (const { transport, url, client } of targets) {
        const response = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": row.contentType,
            authorization: `Bearer ${servers.svc.token}`,
          },
          body: row.body!,
          client,
        });
        const text = await response.text();
        if (response.status !== row.status) {
          throw new Error(`${transport} ${row.path}: ${response.status} ${text.slice(0, 200)}`);
        }
      }
    }
  } finally {
    clients["tls-h1"].close();
    clients.h2.close();
  }
}

/** The bytes the service answers a binary `system.echo` (what the bare baselines answer). */
async function echoAnswer(plainUrl: string, token: string): Promise<Uint8Array> {
  const row = CALL_ROWS.binaryEcho;
  const response = await fetch(`${plainUrl}${row.path}`, {
    method: "POST",
    headers: { "content-type": row.contentType, authorization: `Bearer ${token}` },
    body: row.body!,
  });
  const bytes = await response.bytes();
  if (response.status !== 200) throw new Error(`binary echo answered ${response.status}`);
  return bytes;
}

/** The warm-up pass, then `rounds` rounds of every load. */
async function runRounds(servers: Servers, rounds: number, seconds: number, seedCount: number) {
  const specs = allSpecs();
  const dir = await Deno.makeTempDir({ prefix: "bench-bodies-" });
  const context = { servers, ranges: new UpdateRanges(seedCount), bodies: new BodyFiles(dir) };
  const runs = new Map<string, Measurement[]>(specs.map((spec) => [spec.id, []]));
  try {
    for (const spec of specs) await measure(spec, { ...context, seconds: WARMUP_SECONDS });
    for (let round = 0; round < rounds; round++) {
      for (const spec of specs) {
        const m = await measure(spec, { ...context, seconds });
        runs.get(spec.id)!.push(m);
        console.error(`  round ${round + 1} ${spec.id}: ${Math.round(m.rps)} req/s (${m.answers})`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return { specs, runs };
}

/**
 * Runs the whole bench: service, baselines, preflight, warm-up and rounds.
 *
 * @example
 * ```ts
 * const results = await runShippedBench();
 * console.log(renderShippedSection(results).join("\n"));
 * ```
 */
export async function runShippedBench(): Promise<ShippedResults> {
  const rounds = envNumber("BENCH_ROUNDS", 3, 20);
  const seconds = envNumber("BENCH_LOAD_SECONDS", 3, 120);
  const updateSpecs = allSpecs().filter((spec) => spec.row?.name === "update").length;
  const seedCount = UPDATE_IDS_PER_LOAD * (rounds + 1) * updateSpecs;
  const serviceOptions = { poolBytes: null, seedCount };
  const svc = await startShippedService(serviceOptions);
  try {
    const answerPath = `${svc.dataDir}/echo_answer.bin`;
    await Deno.writeFile(answerPath, await echoAnswer(svc.plainUrl, svc.token));
    const baseline = await startBaseline(svc.certPath, svc.keyPath, answerPath);
    try {
      const servers = { svc, baseline: baseline.ports };
      await preflight(servers);
      const { specs, runs } = await runRounds(servers, rounds, seconds, seedCount);
      const commandLine = shippedCommandLine(serviceOptions);
      return { rounds, seconds, specs, runs, seedCount, commandLine };
    } finally {
      await baseline.stop();
    }
  } finally {
    const code = await svc.stop();
    if (code !== 0) console.error(`shipped bench: the service exited with ${code}`);
  }
}

if (import.meta.main) console.log(renderShippedSection(await runShippedBench()).join("\n"));
