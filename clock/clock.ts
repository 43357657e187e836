/**
 * The one clock of the service: every timeout (call deadlines, body stalls, head and idle
 * timeouts of connections, write stalls, drain deadlines, retry backoffs) is a `Timeout` entry
 * of one `Clock`, checked by a single ticking interval. Modelled on TigerBeetle's ticked
 * `Timeout`: an entry is an object the owner keeps for its whole life (a connection, a call),
 * re-armed by writing one field, so the hot path never creates a timer, a closure or a promise.
 *
 * Why not `setTimeout` per wait: arming and clearing a timer per request was ~10% of an
 * in-process echo call (measured with `--cpu-prof`), and four separate timer mechanisms gave
 * four sets of rules for the same thing (docs/design.md, "One clock").
 *
 * Cost model: `arm` and `disarm` are a few array writes (the entry remembers its slot); each tick
 * scans the armed entries once, O(armed). The interval runs only while something is armed and
 * stops after one idle tick; it never keeps the process alive (it is unref'd).
 *
 * @module
 */

/** How often armed timeouts are checked by default; a timeout fires up to this late. */
export const CLOCK_TICK_MS_DEFAULT = 5;

/** Bounds the tick period a clock accepts. */
export const CLOCK_TICK_MS_MIN = 1;
export const CLOCK_TICK_MS_MAX = 1000;

/**
 * Something that can time out. The owner keeps one per wait it may have (usually one per object)
 * and arms it with a deadline; the clock calls `onTimeout` once the deadline has passed.
 */
export interface Timeout {
  /** The clock's bookkeeping: the entry's index while armed, -1 otherwise. Start at -1. */
  clockSlot: number;
  /** Absolute `Date.now()`-based time at which it fires; written by `Clock.arm`. */
  deadlineAtMs: number;
  /**
   * Called by the tick once `deadlineAtMs` has passed. The entry is disarmed before the call,
   * so the handler may re-arm it (a grace period) or leave it.
   */
  onTimeout(nowMs: number): void;
}

/** Options of the `Clock` constructor. */
export interface ClockOptions {
  /** Tick period; default CLOCK_TICK_MS_DEFAULT. */
  readonly tickMs?: number;
}

/**
 * The clock: one interval for every armed timeout.
 *
 * @example
 * ```ts
 * const clock = new Clock();
 * const timeout = { clockSlot: -1, deadlineAtMs: 0, onTimeout: () => console.log("late") };
 * clock.arm(timeout, clock.nowMs + 1000);
 * clock.disarm(timeout);
 * clock.close();
 * ```
 */
export class Clock {
  readonly tickMs: number;
  /** Armed entries, unordered; each knows its index (`clockSlot`). */
  readonly #armed: Timeout[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  #nowMs = Date.now();
  #armedSinceTick = false;
  #closed = false;
  /** Armed `sleep`/`within` waits: while any is armed the interval keeps the process alive. */
  #heldCount = 0;

  constructor(options: ClockOptions = {}) {
    const tickMs = options.tickMs ?? CLOCK_TICK_MS_DEFAULT;
    if (!Number.isSafeInteger(tickMs) || tickMs < CLOCK_TICK_MS_MIN || tickMs > CLOCK_TICK_MS_MAX) {
      throw new RangeError(
        `Cannot make clock: tick ${tickMs} ms is outside ${CLOCK_TICK_MS_MIN}..${CLOCK_TICK_MS_MAX}`,
      );
    }
    this.tickMs = tickMs;
  }

  /**
   * A coarse now (ms since the epoch): refreshed at every tick while the clock ticks, exact
   * when it is idle. Up to one tick behind, which every timeout tolerates by design.
   */
  get nowMs(): number {
    return this.#timer === null ? Date.now() : this.#nowMs;
  }

  /** Armed timeouts now. */
  get armedCount(): number {
    return this.#armed.length;
  }

  /** Whether the interval is running (tests). */
  get ticking(): boolean {
    return this.#timer !== null;
  }

  /**
   * Arms `timeout` to fire at `deadlineAtMs` (Date.now()-based). Re-arming an armed entry only
   * moves its deadline. A deadline already passed fires at the next tick.
   */
  arm(timeout: Timeout, deadlineAtMs: number): void {
    if (this.#closed) throw new Error("Cannot arm a timeout: the clock is closed");
    timeout.deadlineAtMs = deadlineAtMs;
    if (this.#armed[timeout.clockSlot] === timeout) return;
    timeout.clockSlot = this.#armed.length;
    this.#armed.push(timeout);
    this.#armedSinceTick = true;
    if (this.#timer === null) this.#start();
  }

  /** Arms `timeout` to fire `timeoutMs` from now. */
  armIn(timeout: Timeout, timeoutMs: number): void {
    this.arm(timeout, this.nowMs + timeoutMs);
  }

  /** Disarms `timeout` (no effect when it is not armed, e.g. it already fired). */
  disarm(timeout: Timeout): void {
    const slot = timeout.clockSlot;
    const armed = this.#armed;
    if (armed[slot] !== timeout) return;
    const last = armed.pop()!;
    if (last !== timeout) {
      armed[slot] = last;
      last.clockSlot = slot;
    }
    timeout.clockSlot = -1;
  }

  /** Whether `timeout` is armed on this clock. */
  isArmed(timeout: Timeout): boolean {
    return this.#armed[timeout.clockSlot] === timeout;
  }

  /**
   * A promise that resolves after `timeoutMs` (for waits off the hot path: drain deadlines,
   * retry backoff). Resolves at once on a closed clock.
   *
   * @example
   * ```ts
   * await clock.sleep(50);
   * ```
   */
  sleep(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#hold(1);
      const entry: Timeout = {
        clockSlot: -1,
        deadlineAtMs: 0,
        onTimeout: () => {
          this.#hold(-1);
          resolve();
        },
      };
      this.armIn(entry, timeoutMs);
    });
  }

  /**
   * Settles like `promise`, or resolves `onLate` after `timeoutMs`, whichever comes first (the
   * losing promise is left to settle on its own).
   *
   * @example
   * ```ts
   * const clean = await clock.within(server.finished.then(() => true), 10_000, false);
   * ```
   */
  within<T, L>(promise: Promise<T>, timeoutMs: number, onLate: L): Promise<T | L> {
    if (this.#closed) return Promise.resolve(onLate);
    return new Promise<T | L>((resolve, reject) => {
      let pending = true;
      const settle = () => {
        if (!pending) return false;
        pending = false;
        this.#hold(-1);
        this.disarm(entry);
        return true;
      };
      const entry: Timeout = {
        clockSlot: -1,
        deadlineAtMs: 0,
        onTimeout: () => settle() && resolve(onLate),
      };
      this.#hold(1);
      this.armIn(entry, timeoutMs);
      promise.then((value) => settle() && resolve(value), (error) => settle() && reject(error));
    });
  }

  /** Stops the interval now; pending timeouts never fire and later `arm` calls throw. */
  close(): void {
    this.#closed = true;
    this.#heldCount = 0;
    for (const entry of this.#armed) entry.clockSlot = -1;
    this.#armed.length = 0;
    this.#stop();
  }

  #start(): void {
    this.#nowMs = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.tickMs);
    // The clock keeps the process alive only for its own waits (`sleep`, `within`): a call's
    // deadline or a connection's timeout is waited on by a socket op that does.
    if (this.#heldCount === 0) Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Counts the clock's own waits and refs the interval while there is one. */
  #hold(delta: number): void {
    const before = this.#heldCount;
    this.#heldCount = Math.max(0, before + delta);
    if (this.#timer === null) return;
    const id = this.#timer as unknown as number;
    if (before === 0 && this.#heldCount > 0) Deno.refTimer(id);
    else if (before > 0 && this.#heldCount === 0) Deno.unrefTimer(id);
  }

  #tick(): void {
    const now = Date.now();
    this.#nowMs = now;
    const armed = this.#armed;
    // A fast call is armed and disarmed within one turn of the event loop, so a tick under
    // steady load often finds nothing armed; stopping then would restart the interval on the
    // next call. It stops after a whole idle tick instead.
    const recently = this.#armedSinceTick;
    this.#armedSinceTick = false;
    if (armed.length === 0) {
      if (!recently) this.#stop();
      return;
    }
    // Expired entries are disarmed first and fire after, so a handler that arms or disarms
    // entries cannot disturb the scan; the scan is bounded by the entries armed at this tick.
    let expired: Timeout[] | null = null;
    for (let i = armed.length - 1; i >= 0; i--) {
      const entry = armed[i];
      if (entry.deadlineAtMs <= now) {
        this.disarm(entry);
        (expired ??= []).push(entry);
      }
    }
    if (expired === null) return;
    for (const entry of expired) {
      try {
        entry.onTimeout(now);
      } catch (error) {
        // A failing handler must not stop the other timeouts of this tick.
        console.error("clock: a timeout handler failed:", error);
      }
    }
  }

  #stop(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
