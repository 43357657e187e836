/**
 * The service as `deno task start` ships it, for the benches: `main.ts` with exactly the start
 * task's flags (read from deno.json, as tests/_service_process.ts does), on free ports, in a temp
 * data directory (the SQLite store open, optionally seeded by bench/store_http_seed.ts), auth on
 * with the admin token it generates, the request log at its default level written to a file
 * (`>> <data-dir>/service.log`, as a deployment would redirect it).
 *
 * @module
 */

import { START_FLAGS } from "../tests/_service_process.ts";

/**
 * The checkout whose service is measured: this one, or BENCH_SERVICE_ROOT (another checkout's
 * directory, e.g. an older commit's worktree, to compare it with the same loads and baselines).
 */
const ROOT = serviceRoot();
const SEED_SCRIPT = `${ROOT}bench/store_http_seed.ts`;
const READY_WAIT_MS = 30_000;

function serviceRoot(): string {
  const root = Deno.env.get("BENCH_SERVICE_ROOT");
  if (root === undefined || root === "") return new URL("../", import.meta.url).pathname;
  if (!Deno.statSync(`${root}/main.ts`).isFile) {
    throw new TypeError(`Invalid BENCH_SERVICE_ROOT: ${root}/main.ts is not a file`);
  }
  return root.endsWith("/") ? root : `${root}/`;
}

/** Options of {@link startShippedService}. */
export interface ShippedOptions {
  /** `--pool-bytes` (e.g. `64MiB`); null: the default (auto), as `deno task start` runs. */
  readonly poolBytes: string | null;
  /** Worknodes `b-00000`.. seeded before the start (0: none). */
  readonly seedCount: number;
}

/** A running service. */
export interface ShippedService {
  readonly pid: number;
  readonly dataDir: string;
  /** `http://127.0.0.1:<plaintext port>` */
  readonly plainUrl: string;
  /** The TLS (TCP) and QUIC (UDP) port. */
  readonly port: number;
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The generated admin token (sent on every call). */
  readonly token: string;
  /** The bytes the pool maps (the boot plan's total). */
  readonly poolBytes: number;
  /** Where stdout (the request log) goes. */
  readonly logPath: string;
  /** SIGTERM, wait for the exit; its status code. Removes the data directory. */
  stop(): Promise<number>;
}

/**
 * The command line a user types for the same service (the start task's flags, then ours).
 *
 * @example
 * ```ts
 * console.log(shippedCommandLine({ poolBytes: "64MiB", seedCount: 0 }));
 * ```
 */
export function shippedCommandLine(options: ShippedOptions): string {
  return [
    "deno run",
    ...START_FLAGS,
    "main.ts --port 0 --plaintext-port 0",
    ...(options.poolBytes === null ? [] : [`--pool-bytes ${options.poolBytes}`]),
    "--data-dir DIR >> DIR/service.log",
  ].join(" ");
}

async function seed(dataDir: string, count: number): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SEED_SCRIPT, "sqlite", dataDir, String(count)],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Cannot seed ${dataDir}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** The first stdout line with `msg` equal to `msg`, parsed; null while there is none. */
function lineOf(text: string, msg: string): Record<string, unknown> | null {
  for (const line of text.split("\n")) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    return JSON.parse(line);
  }
  return null;
}

/** Polls the log file until the ready line arrives, the child exits, or 30 s pass. */
async function waitReady(child: Deno.ChildProcess, logPath: string, errPath: string) {
  let exited = false;
  child.status.then(() => exited = true);
  const untilMs = Date.now() + READY_WAIT_MS;
  while (Date.now() < untilMs) {
    const text = await Deno.readTextFile(logPath).catch(() => "");
    const ready = lineOf(text, "ready");
    if (ready !== null) return { ready, plan: lineOf(text, "boot plan") };
    if (exited) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stderr = await Deno.readTextFile(errPath).catch(() => "");
  if (!exited) child.kill("SIGKILL");
  await child.status;
  throw new Error(`service not ready (${exited ? "exited" : "30 s"}): ${stderr}`);
}

/**
 * Seeds a temp data directory, starts the service on it and waits for its ready line.
 *
 * @example
 * ```ts
 * const svc = await startShippedService({ poolBytes: "64MiB", seedCount: 1000 });
 * await fetch(`${svc.plainUrl}/healthz`);
 * await svc.stop();
 * ```
 */
export async function startShippedService(options: ShippedOptions): Promise<ShippedService> {
  const dataDir = await Deno.makeTempDir({ prefix: "bench-shipped-" });
  if (options.seedCount > 0) await seed(dataDir, options.seedCount);
  const logPath = `${dataDir}/service.log`;
  const errPath = `${dataDir}/service.err`;
  // bash opens the files and execs deno in its place (the same pid: our signals reach it). The
  // log is opened for appending, so the bench may truncate it between loads.
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'exec "$@" >>"$WN_BENCH_LOG" 2>>"$WN_BENCH_ERR"',
      "bash",
      Deno.execPath(),
      "run",
      "--no-prompt",
      ...START_FLAGS,
      `${ROOT}main.ts`,
      ...["--port", "0", "--plaintext-port", "0"],
      ...(options.poolBytes === null ? [] : ["--pool-bytes", options.poolBytes]),
      ...["--data-dir", dataDir],
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1", WN_BENCH_LOG: logPath, WN_BENCH_ERR: errPath },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const { ready, plan } = await waitReady(child, logPath, errPath);
  const certPath = String(ready.certPath);
  let stopping: Promise<number> | null = null;
  return {
    pid: child.pid,
    dataDir,
    plainUrl: String(ready.http),
    port: Number(new URL(String(ready.https)).port),
    caPath: String(ready.caPath),
    certPath,
    keyPath: certPath.replace(/\.pem$/, ".key"),
    token: (await Deno.readTextFile(String(ready.adminTokenPath))).trim(),
    poolBytes: Number((plan?.plan as { totalBytes?: number } | undefined)?.totalBytes ?? NaN),
    logPath,
    stop() {
      stopping ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already exited.
        }
        const status = await child.status;
        await Deno.remove(dataDir, { recursive: true });
        return status.code;
      })();
      return stopping;
    },
  };
}
