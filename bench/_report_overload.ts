/**
 * The overload half of the bench report: the same concurrent 1 MiB uploads against the service
 * (64 MiB pool, default V8 flags) and against a plain Hono app that buffers bodies with
 * `arrayBuffer()`, each in its own process; peak RSS compared with the Hono app's, and the
 * service's peak against issue 7's bound (pool bytes + 96 MiB).
 *
 * @module
 */

import {
  classBlocksFor,
  echoCapnpBody,
  type OverloadResult,
  runOverload,
  spawnJsonChild,
  startStressChild,
} from "../tests/_stress.ts";

const POOL_BYTES = 64 * 1024 * 1024;
const UPLOAD_BYTES = 1024 * 1024;
const OVERLOAD_FACTOR = 4;
const MIB = 1024 * 1024;
const HONO_SCRIPT = new URL("./_hono_buffering_server.ts", import.meta.url).pathname;

/** One measured process. */
interface Row {
  readonly label: string;
  readonly result: OverloadResult;
}

function seconds(): number {
  const value = Number(Deno.env.get("BENCH_OVERLOAD_SECONDS") ?? "15");
  if (!Number.isFinite(value) || value <= 0 || value > 600) {
    throw new RangeError(`Invalid BENCH_OVERLOAD_SECONDS: ${value} is not in (0, 600]`);
  }
  return value;
}

/** The same load against any process: 1 MiB binary echo uploads to `baseUrl`. */
function overload(baseUrl: string, pid: number, concurrency: number): Promise<OverloadResult> {
  return runOverload({
    baseUrl,
    path: "/rpc/system.echo",
    pid,
    body: echoCapnpBody(UPLOAD_BYTES),
    contentType: "application/capnp",
    concurrency,
    seconds: seconds(),
  });
}

/** Runs the load against the service child (default V8 flags). */
async function measureService(concurrency: number): Promise<Row> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-overload-" });
  const child = await startStressChild({ poolBytes: POOL_BYTES, dataDir });
  try {
    const result = await overload(child.plainUrl, child.pid, concurrency);
    return { label: "service, default V8 flags", result };
  } finally {
    await child.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function measureHono(concurrency: number): Promise<Row> {
  const child = await spawnJsonChild(HONO_SCRIPT, {});
  try {
    const result = await overload(`http://127.0.0.1:${child.ready.port}`, child.pid, concurrency);
    return { label: "plain Hono app, `arrayBuffer()` (baseline)", result };
  } finally {
    await child.stop();
  }
}

/** The concurrency: 4x the blocks of the service plan's class that holds a 1 MiB upload. */
async function overloadConcurrency(): Promise<number> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-overload-" });
  const child = await startStressChild({ poolBytes: POOL_BYTES, dataDir });
  try {
    return OVERLOAD_FACTOR *
      await classBlocksFor(child.plainUrl, echoCapnpBody(UPLOAD_BYTES).length);
  } finally {
    await child.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

function statusText(result: OverloadResult): string {
  const parts = [...result.statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`);
  if (result.errors.length > 0) parts.push(`errors: ${result.errors.length}`);
  return parts.join(", ");
}

/**
 * Measures the three processes and renders the markdown section.
 *
 * @example
 * ```ts
 * console.log(await buildOverloadSection());
 * ```
 */
export async function buildOverloadSection(): Promise<string> {
  const concurrency = await overloadConcurrency();
  const hono = await measureHono(concurrency);
  const service = await measureService(concurrency);
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
  const honoPeak = hono.result.rssPeakBytes;
  const lines = [
    "### RSS under overload: the service vs a plain Hono app",
    "",
    `${concurrency} concurrent 1 MiB \`system.echo\` uploads (binary, HTTP/1.1 plaintext; 4x the ` +
    `1 MiB class's blocks of a 64 MiB pool plan) for ${seconds()} s per process, RSS from ` +
    "/proc/<pid>/status every 100 ms. The service's idle RSS already holds its whole pool " +
    "(mapped and prefaulted). Ratio = the baseline's peak RSS / the row's (\"x smaller\"). " +
    "Bound (issue 7): the service's peak RSS <= pool bytes + 96 MiB.",
    "",
    "| process | responses | idle RSS | peak RSS | peak ratio to baseline |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const row of [hono, service]) {
    const peak = row.result.rssPeakBytes;
    const ratio = row === hono
      ? "1x (baseline)"
      : peak <= honoPeak
      ? `**${(honoPeak / peak).toFixed(2)}x smaller**`
      : `**${(peak / honoPeak).toFixed(2)}x larger**`;
    lines.push(
      `| ${row.label} | ${statusText(row.result)} | ${mib(row.result.rssIdleBytes)} | ` +
        `${mib(peak)} | ${ratio} |`,
    );
  }
  const overPool = service.result.rssPeakBytes - POOL_BYTES;
  lines.push(
    "",
    `Service peak RSS - pool bytes: ${mib(overPool)} ` +
      `(bound 96 MiB: ${overPool <= 96 * MIB ? "met" : "**NOT met**"}).`,
    "",
  );
  return lines.join("\n");
}
