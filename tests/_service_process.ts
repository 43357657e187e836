/**
 * The real service as a subprocess (`deno run ... main.ts`, the permissions of `deno task
 * start`), on free ports in a temp data directory, with its stdout read as JSON lines.
 *
 * @module
 */

import assert from "@std/assert";
import { type CommandOutput, runCommand } from "./_command.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The flags of `deno task start`, read from deno.json so the tests run what the task runs. */
export const START_FLAGS: readonly string[] = (() => {
  const denoJson = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const command: string = denoJson.tasks.start.command;
  return command.split(/\s+/).filter((word) =>
    word.startsWith("--allow-") || word.startsWith("--v8-flags=") || word === "--unstable-net"
  );
})();

/** The ready line main.ts prints. */
export interface ReadyLine {
  readonly msg: "ready";
  readonly https: string;
  readonly http: string | null;
  readonly caPath: string | null;
  readonly certPath: string;
  readonly adminTokenPath: string | null;
  readonly tokenCount: number;
  readonly adminTokenGenerated: boolean;
  /** Whether OpenTelemetry spans are on (OTEL_DENO). */
  readonly tracing: boolean;
}

/** A running service process. */
export interface ServiceProcess {
  readonly child: Deno.ChildProcess;
  readonly ready: ReadyLine;
  readonly dataDir: string;
  /** `http://127.0.0.1:<plaintext port>` */
  readonly plainUrl: string;
  /** Every stdout line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /**
   * Sends `signal` (null: none, the process is already stopping) and waits for the exit: its
   * status code and the whole stderr. Later calls get the first call's outcome.
   */
  stop(signal?: Deno.Signal | null): Promise<{ code: number; stderr: string }>;
}

/** Runs main.ts with `args` until it exits; its status, stdout and stderr. */
export function runMainOnce(args: readonly string[]): Promise<CommandOutput> {
  return runCommand(Deno.execPath(), ["run", "--no-prompt", ...START_FLAGS, MAIN, ...args], {
    cwd: REPO_ROOT,
  });
}

/**
 * Reads the child's stdout in the background (whole JSON lines, bounded per line) and resolves
 * once the ready line arrived; throws when the child exits first or is not ready in 30 s.
 */
async function readUntilReady(
  child: Deno.ChildProcess,
  options: { readonly lines: Record<string, unknown>[]; readonly stderr: Promise<string> },
): Promise<{ readAll: Promise<void>; ready: ReadyLine }> {
  const lines = options.lines;
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let ready: ReadyLine | null = null;
  const readAll = (async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      pending += chunk.value;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        lines.push(line);
        if (line.msg === "ready") ready = line as ReadyLine;
      }
      if (pending.length > 1_000_000) throw new Error("a stdout line over 1 MB");
    }
  })();
  const until = Date.now() + 30_000;
  while (ready === null && Date.now() < until) {
    const exited = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 20)),
    ]);
    if (exited && ready === null) {
      await readAll.catch(() => {});
      throw new Error(`service exited before ready: ${await options.stderr}`);
    }
  }
  if (ready === null) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error("service not ready in 30 s");
  }
  return { readAll, ready };
}

/**
 * Starts main.ts with `--port 0 --plaintext-port 0 --pool-bytes 16MiB --data-dir <temp>` plus
 * `args`, and resolves once the ready line arrived (the data directory is removed by `stop`).
 */
export async function startServiceProcess(
  args: readonly string[] = [],
  options: {
    readonly env?: Record<string, string>;
    readonly dataDir?: string;
    /** Run under `ulimit -n` of this many file descriptors (as systemd's soft limit would). */
    readonly fileLimit?: number;
  } = {},
): Promise<ServiceProcess> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "svc-proc-" });
  // Under a file limit, bash sets it and execs deno in its place (same pid: signals reach it).
  const limited = options.fileLimit === undefined
    ? []
    : ["-c", `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, Deno.execPath()];
  const child = new Deno.Command(limited.length === 0 ? Deno.execPath() : "bash", {
    args: [
      ...limited,
      "run",
      "--no-prompt",
      ...START_FLAGS,
      MAIN,
      ...["--port", "0", "--plaintext-port", "0", "--pool-bytes", "16MiB"],
      ...["--data-dir", dataDir, ...args],
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: Record<string, unknown>[] = [];
  const { readAll, ready } = await readUntilReady(child, { lines, stderr });
  const readyLine: ReadyLine = ready;
  let stopping: Promise<{ code: number; stderr: string }> | null = null;
  assert.ok(readyLine.http !== null);
  return {
    child,
    ready: readyLine,
    dataDir,
    plainUrl: readyLine.http!,
    lines,
    stop(signal: Deno.Signal | null = "SIGTERM") {
      stopping ??= stopWith(signal);
      return stopping;
    },
  };
  /** Stops once (later calls get the first stop's outcome). */
  async function stopWith(signal: Deno.Signal | null) {
    try {
      if (signal !== null) child.kill(signal);
    } catch {
      // Already exited.
    }
    const status = await child.status;
    await readAll;
    if (options.dataDir === undefined) await Deno.remove(dataDir, { recursive: true });
    return { code: status.code, stderr: await stderr };
  }
}

/**
 * A port free on both TCP and UDP (the service serves TLS and QUIC on one number).
 *
 * @example
 * ```ts
 * const port = freePort();
 * ```
 */
export function freePort(): number {
  for (let attempt = 0; attempt < 20; attempt++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    try {
      Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port }).close();
      return port;
    } catch (error) {
      // The UDP side is taken: try another number.
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    } finally {
      listener.close();
    }
  }
  throw new Error("no port free on both TCP and UDP after 20 attempts");
}
