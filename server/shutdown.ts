/**
 * Graceful shutdown: wait for SIGTERM or SIGINT, then stop the service within a deadline. The
 * service's own `shutdown()` stops accepting (TCP listeners close, HTTP/3 sends GOAWAY), lets
 * in-flight calls finish, and closes the store; this file bounds that wait.
 *
 * @module
 */

/** The signals that stop the service. */
export const SHUTDOWN_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/**
 * Resolves on the first SIGINT or SIGTERM. The listeners stay installed, so later signals are
 * ignored rather than killing the process mid-drain: a terminal's Ctrl-C reaches both `deno task`
 * and the service, and `deno task` or `timeout` forward it again, so one stop request often
 * arrives twice. The shutdown is bounded by `--shutdown-timeout-ms` anyway; SIGKILL still works.
 *
 * @example
 * ```ts
 * const signal = await shutdownSignal(); // "SIGTERM"
 * ```
 */
export function shutdownSignal(): Promise<Deno.Signal> {
  return new Promise((resolve) => {
    for (const signal of SHUTDOWN_SIGNALS) Deno.addSignalListener(signal, () => resolve(signal));
  });
}

/** How a bounded shutdown ended. */
export interface ShutdownOutcome {
  /** True when the service stopped before the deadline (every in-flight call answered). */
  readonly clean: boolean;
  readonly elapsedMs: number;
}

/**
 * Runs `service.shutdown()` for at most `timeoutMs`. On time it resolves `clean: true`; past the
 * deadline it resolves `clean: false` and leaves the shutdown running (the caller exits).
 *
 * @example
 * ```ts
 * const { clean } = await shutdownWithin(svc, { timeoutMs: 10_000 });
 * ```
 */
export async function shutdownWithin(
  service: { shutdown(): Promise<void> },
  options: { readonly timeoutMs: number },
): Promise<ShutdownOutcome> {
  if (!Number.isSafeInteger(options.timeoutMs) || options.timeoutMs < 0) {
    throw new RangeError(`Cannot shut down: timeoutMs ${options.timeoutMs} is not a count of ms`);
  }
  const startMs = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), options.timeoutMs);
  });
  try {
    const clean = await Promise.race([service.shutdown().then(() => true), late]);
    return { clean, elapsedMs: performance.now() - startMs };
  } finally {
    clearTimeout(timer);
  }
}
