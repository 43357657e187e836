/**
 * The service's entry point: `deno task start [OPTIONS]` (see `--help`).
 *
 * config → boot plan (`--dry-run` prints it and exits 0) → data directory check → pool →
 * tokens (generating the admin token on a first start) → store → listeners (TLS h2/h1.1 and
 * HTTP/3 on `--port`, plaintext HTTP/1.1 on `--plaintext-port`) → one ready line. On SIGTERM or
 * SIGINT: stop accepting, finish in-flight calls within `--shutdown-timeout-ms`, close the store
 * and the pool, exit 0.
 *
 * Exit statuses: 0 stopped cleanly; 2 bad configuration, impossible budget or unusable data
 * directory (one line per problem on stderr); 1 any other failure to start, or a shutdown that
 * passed its deadline.
 *
 * Every stdout line is one JSON object (`msg`: "boot plan", "ready", "rpc", "stopping",
 * "stopped"), so the request log and the service's own lines parse alike.
 *
 * @module
 */

import { EXIT_CODE_USAGE, loadConfigOrExit, type LogLevel } from "./config/mod.ts";
import { planSummary, PoolPlanError } from "./pool/plan.ts";
import { Authenticator } from "./rpc/auth.ts";
import { type RequestLog, requestLogFor } from "./rpc/request_log.ts";
import { loadTracer, otelEnabled } from "./rpc/tracing.ts";
import { boot, type Booted, bootPlan } from "./server/boot.ts";
import { DataDirError, ensureDataDir } from "./server/data_dir.ts";
import { type RunningService, startService } from "./server/service.ts";
import { shutdownSignal, shutdownWithin } from "./server/shutdown.ts";
import { loadTokens } from "./server/tokens.ts";

/** The exit status when start-up fails for a reason other than configuration. */
const EXIT_CODE_BOOT_FAILED = 1;
/** The exit status when in-flight calls outlived `--shutdown-timeout-ms`. */
const EXIT_CODE_SHUTDOWN_LATE = 1;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Writes one JSON line on stdout when `level` passes the configured level. */
function logger(configured: LogLevel) {
  return (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
    if (LEVEL_RANK[level] < LEVEL_RANK[configured]) return;
    console.log(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }));
  };
}

/** The one-line reason of an error. */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/** The ready line's fields: where to reach the service and what to trust. */
function readyFields(svc: RunningService, hostname: string, adminTokenPath: string | null) {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    https: `https://${host}:${svc.port}`,
    h3: `https://${host}:${svc.port} (udp)`,
    http: svc.plaintextPort === null ? null : `http://${host}:${svc.plaintextPort}`,
    caPath: svc.caPath,
    certPath: svc.certPath,
    adminTokenPath,
  };
}

/** Starts everything after the plan; on failure releases what was acquired and rethrows. */
async function start(
  config: ReturnType<typeof loadConfigOrExit>,
  log: ReturnType<typeof logger>,
  dataDirWarnings: readonly string[],
) {
  const booted = boot(config);
  try {
    log("info", "boot plan", { plan: planSummary(booted.plan) });
    const tokens = await loadTokens(config);
    // One warn line each (a data directory mode tightened, no tokens, a stale admin.token);
    // the ready line repeats them, as it is printed at every log level.
    const warnings = [...dataDirWarnings, ...tokens.warnings];
    for (const warning of warnings) log("warn", warning);
    const auth = new Authenticator(tokens.tokens, { publicRead: config.publicRead });
    const tracer = await loadTracer(otelEnabled((name) => Deno.env.get(name)));
    const requestLog = requestLogFor(config.logLevel);
    const svc = await startService(config, booted.plan, {
      pool: booted.pool,
      auth,
      requestLog,
      tracer,
      quiet: true,
    });
    const fields = readyFields(svc, config.hostname, tokens.adminTokenPath);
    // The ready line is printed at every log level: it is how an operator (and a test) learns
    // the ports and the token path.
    console.log(JSON.stringify({
      ts: new Date().toISOString(),
      level: "info",
      msg: "ready",
      ...fields,
      tokens: tokens.source,
      tokenCount: auth.tokenCount,
      adminTokenGenerated: tokens.generated,
      publicRead: config.publicRead,
      tracing: tracer !== null,
      warnings,
    }));
    return { booted, svc, requestLog };
  } catch (error) {
    booted.close();
    throw error;
  }
}

/** Stops within the deadline; the exit status. */
async function stop(
  booted: Booted,
  svc: RunningService,
  requestLog: RequestLog | null,
  timeoutMs: number,
  log: ReturnType<typeof logger>,
) {
  const outcome = await shutdownWithin(svc, { timeoutMs });
  // Every buffered request line is written before the last line of the process.
  await requestLog?.close();
  const inUse = booted.pool.inUseCount();
  if (!outcome.clean || inUse !== 0) {
    // Calls still hold blocks: the pool cannot be unmapped under them; the exit frees it.
    log("error", "stopped late", { timeoutMs, leasesHeld: inUse });
    return EXIT_CODE_SHUTDOWN_LATE;
  }
  booted.close();
  log("info", "stopped", { elapsedMs: Math.round(outcome.elapsedMs) });
  return 0;
}

/**
 * Runs the service for a command line; returns the exit status.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["--dry-run", "--pool-bytes", "64MiB"]));
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const config = loadConfigOrExit(args);
  const log = logger(config.logLevel);
  let started: Awaited<ReturnType<typeof start>>;
  try {
    const plan = bootPlan(config);
    if (config.dryRun) {
      console.log(JSON.stringify(planSummary(plan), null, 2));
      return 0;
    }
    const dataDir = await ensureDataDir(config.dataDir);
    const signal = shutdownSignal();
    started = await start(config, log, dataDir.warnings);
    const received = await signal;
    // The lines of calls that ended before the signal come before "stopping".
    await started.requestLog?.flush();
    log("info", "stopping", { signal: received, timeoutMs: config.shutdownTimeoutMs });
  } catch (error) {
    // One line, not a stack trace: an impossible budget or an unusable data directory is a
    // usage error (2); anything else at start (libpool missing, store down) is a failure (1).
    console.error(reasonOf(error));
    const usage = error instanceof PoolPlanError || error instanceof DataDirError;
    return usage ? EXIT_CODE_USAGE : EXIT_CODE_BOOT_FAILED;
  }
  const { booted, svc, requestLog } = started;
  return await stop(booted, svc, requestLog, config.shutdownTimeoutMs, log);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
