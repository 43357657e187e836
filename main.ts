/**
 * The service's entry point: `deno task start [OPTIONS]` (see `--help`).
 *
 * Parses the configuration, computes the boot plan, and with `--dry-run` prints it as JSON and
 * exits 0. Otherwise it boots (maps the pool), prints the plan and a ready line, and waits for
 * SIGINT/SIGTERM to release everything and exit 0. Bad flags and impossible budgets: one line
 * per problem on stderr, exit 2.
 *
 * @module
 */

import { EXIT_CODE_USAGE, loadConfigOrExit } from "./config/mod.ts";
import { planSummary, PoolPlanError } from "./pool/plan.ts";
import { boot, bootPlan } from "./server/boot.ts";

/** The exit status when boot fails for a reason other than configuration. */
const EXIT_CODE_BOOT_FAILED = 1;

/** Resolves on the first SIGINT or SIGTERM, then removes both listeners. */
function shutdownSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const handlers = signals.map((signal) => {
      const handler = () => {
        signals.forEach((s, i) => Deno.removeSignalListener(s, handlers[i]));
        resolve(signal);
      };
      Deno.addSignalListener(signal, handler);
      return handler;
    });
  });
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
  try {
    const plan = bootPlan(config);
    if (config.dryRun) {
      console.log(JSON.stringify(planSummary(plan), null, 2));
      return 0;
    }
    const signal = shutdownSignal();
    const booted = boot(config);
    console.log(JSON.stringify(planSummary(booted.plan), null, 2));
    console.log(
      `pool up: ${booted.plan.classes.length} classes, ${booted.pool.regionBytes} bytes mapped; ` +
        "the HTTP server is not wired in yet; waiting for SIGINT or SIGTERM",
    );
    const received = await signal;
    booted.close();
    console.log(`${received}: pool closed, exiting`);
    return 0;
  } catch (error) {
    // One line, not a stack trace: an impossible budget is a usage error (2), anything else
    // at boot (libpool missing, mmap refused) is a failure to start (1).
    console.error(error instanceof Error ? error.message : String(error));
    return error instanceof PoolPlanError ? EXIT_CODE_USAGE : EXIT_CODE_BOOT_FAILED;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
