/**
 * Whether a store can take writes: what readiness (`/readyz`) reports for the store.
 *
 * Two sources, because neither alone is enough:
 * - the last write failure caused by the store itself (disk full, read-only file, I/O error,
 *   corruption), remembered by {@link StoreHealth}. It catches what no cheap probe can
 *   reproduce: a large write that needs more room than the probe asks for, or a PostgreSQL
 *   server whose disk fills while small writes still fit in existing pages;
 * - a write probe run by readiness (each store's `health()`), which writes no user data. It
 *   sees a condition before any call fails (a read-only file at start, a disk already full) and,
 *   above all, lets readiness recover when the condition clears: a load balancer sends no
 *   traffic to an instance that is not ready, so waiting for a user write to succeed would
 *   leave it out forever.
 *
 * A failed user write is held for {@link STORE_PROBLEM_HOLD_MS} (a passing probe does not clear
 * it; a successful user write does), so a condition that only some writes meet makes readiness
 * flap at most once per hold period; a failed probe holds nothing (the next probe decides).
 * Corruption is held until restart: it does not heal by itself.
 * At most one probe runs at a time and its result is reused for
 * {@link WRITE_PROBE_INTERVAL_MS}, so a flood of `/readyz` requests costs at most one probe a
 * second.
 *
 * Every change of condition is one line on stderr naming the database (file path, or the
 * PostgreSQL database and schema), rate-limited to one line per condition per hold period.
 *
 * @module
 */

/** How long a store failure keeps readiness down after the last failing write. */
export const STORE_PROBLEM_HOLD_MS = 5000;
/** How long a probe's result is reused before readiness runs another. */
export const WRITE_PROBE_INTERVAL_MS = 1000;

/** What `Store.health()` answers: `problem` is null exactly when `ok`. */
export interface StoreHealthReport {
  readonly ok: boolean;
  /** Why writes fail now, without file paths (it is served on `/readyz`). */
  readonly problem: string | null;
}

/** A failure caused by the store's own condition rather than by the call. */
export interface StoreFault {
  /** The RPC code callers get: `unavailable` (retriable) or `data_loss` (corruption). */
  readonly rpcCode: "unavailable" | "data_loss";
  /** What is wrong, e.g. "the disk is full (SQLITE_FULL)". */
  readonly problem: string;
  /** True when only a restart clears it (corruption). */
  readonly sticky: boolean;
}

/** Options of {@link StoreHealth}. */
export interface StoreHealthOptions {
  /** Where log lines go; default stderr. */
  readonly log?: (line: string) => void;
  /** Default {@link STORE_PROBLEM_HOLD_MS}. */
  readonly holdMs?: number;
  /** Default {@link WRITE_PROBE_INTERVAL_MS}. */
  readonly probeIntervalMs?: number;
  /** The clock; default `Date.now`. */
  readonly nowMs?: () => number;
}

/** One probe: null when a write would succeed, else the fault that stops it. */
export type WriteProbe = () => Promise<StoreFault | null>;

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * The write health of one store: failures reported by its operations, probes run on demand.
 *
 * @example
 * ```ts
 * const health = new StoreHealth("database ./data/worknode.sqlite");
 * health.failed({ rpcCode: "unavailable", problem: "the disk is full", sticky: false });
 * const report = await health.report(() => Promise.resolve(null)); // held: not ok
 * ```
 */
export class StoreHealth {
  readonly #what: string;
  readonly #log: (line: string) => void;
  readonly #holdMs: number;
  readonly #probeIntervalMs: number;
  readonly #nowMs: () => number;
  #fault: StoreFault | null = null;
  /** A failed user write holds its condition until then; a failed probe does not hold. */
  #heldUntilMs = -Infinity;
  #failures = 0;
  #loggedProblem: string | null = null;
  #loggedAtMs = -Infinity;
  #probing: Promise<StoreFault | null> | null = null;
  #probedAtMs = -Infinity;
  #probeFault: StoreFault | null = null;

  /** `what` names the database in log lines, e.g. `database /srv/data/worknode.sqlite`. */
  constructor(what: string, options: StoreHealthOptions = {}) {
    this.#what = what;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#holdMs = options.holdMs ?? STORE_PROBLEM_HOLD_MS;
    this.#probeIntervalMs = options.probeIntervalMs ?? WRITE_PROBE_INTERVAL_MS;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Records a failed operation; logs the condition when it is new (or its line is old). */
  failed(fault: StoreFault, cause?: unknown): void {
    this.#record(fault, cause);
    this.#heldUntilMs = this.#nowMs() + this.#holdMs;
  }

  #record(fault: StoreFault, cause?: unknown): void {
    const nowMs = this.#nowMs();
    if (this.#fault?.sticky && !fault.sticky) return;
    this.#fault = fault;
    this.#failures++;
    if (fault.problem === this.#loggedProblem && nowMs - this.#loggedAtMs < this.#holdMs) return;
    this.#loggedProblem = fault.problem;
    this.#loggedAtMs = nowMs;
    const detail = cause === undefined ? "" : ` (${reasonOf(cause)})`;
    const until = fault.sticky ? "until restart" : "until it clears";
    this.#log(`store: ${this.#what}: ${fault.problem}${detail}; not ready ${until}`);
  }

  /** Records a successful write: a non-sticky condition is over. */
  succeeded(): void {
    if (this.#fault === null || this.#fault.sticky) return;
    this.#cleared();
  }

  #cleared(): void {
    this.#log(`store: ${this.#what}: writes succeed again after ${this.#failures} failure(s)`);
    this.#fault = null;
    this.#heldUntilMs = -Infinity;
    this.#failures = 0;
    this.#loggedProblem = null;
    this.#loggedAtMs = -Infinity;
  }

  /** The held condition, if any (a non-sticky one expires after the hold period). */
  held(): StoreFault | null {
    if (this.#fault === null) return null;
    return this.#fault.sticky || this.#nowMs() < this.#heldUntilMs ? this.#fault : null;
  }

  /**
   * The report readiness serves: the held condition, else the (possibly cached) probe's. A
   * probe that finds nothing wrong after the hold period ends the condition.
   */
  async report(probe: WriteProbe): Promise<StoreHealthReport> {
    const held = this.held();
    if (held !== null) return { ok: false, problem: held.problem };
    const fault = await this.#probe(probe);
    if (fault !== null) {
      this.#record(fault);
      return { ok: false, problem: fault.problem };
    }
    if (this.#fault !== null) this.#cleared();
    return { ok: true, problem: null };
  }

  /** Runs `probe` unless one is running (then shares it) or one finished recently. */
  #probe(probe: WriteProbe): Promise<StoreFault | null> {
    if (this.#probing !== null) return this.#probing;
    if (this.#nowMs() - this.#probedAtMs < this.#probeIntervalMs) {
      return Promise.resolve(this.#probeFault);
    }
    const running = probe().then((fault) => {
      this.#probeFault = fault;
      this.#probedAtMs = this.#nowMs();
      return fault;
    }).finally(() => {
      this.#probing = null;
    });
    this.#probing = running;
    return running;
  }
}
