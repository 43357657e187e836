/**
 * The plaintext HTTP/1.1 server's limits: buffer sizes, the connection cap and the timeouts that
 * close idle, header-trickling and stalled connections.
 *
 * @module
 */

/** Every limit of the HTTP/1.1 server. */
export interface H1Limits {
  /** Per-connection read buffer; a request head must fit in it (larger: 431). */
  readonly readBufferBytes: number;
  /** Per-connection output buffer: an answer whose head and body fit goes out in one write. */
  readonly outputBufferBytes: number;
  /** Open connections at most; a connection accepted over the cap is closed at once. */
  readonly connectionCountMax: number;
  /** An idle keep-alive connection (no byte of a next request) is closed after this. */
  readonly idleTimeoutMs: number;
  /** A request head must be complete this long after its first byte (slowloris), else 408. */
  readonly headTimeoutMs: number;
  /**
   * Each write of an answer must progress within this (a client that stops reading). A request
   * body's progress is the call core's stall timeout, the same on every transport.
   */
  readonly writeTimeoutMs: number;
  /** How long `shutdown` waits for requests in flight before closing their connections. */
  readonly shutdownTimeoutMs: number;
}

/**
 * The defaults. Each open connection holds its two buffers and ~3 KiB of parser state (about
 * 23 KiB), so the cap (1,024, as HTTP/3's) bounds what connections alone can take to ~23 MiB:
 * memory outside the pool stays small next to the RSS bound of pool + 96 MiB. An RPC answer
 * larger than the output buffer goes out as its head and then the lease view itself.
 */
export const H1_LIMITS_DEFAULT: H1Limits = Object.freeze({
  readBufferBytes: 16 * 1024,
  outputBufferBytes: 4 * 1024,
  connectionCountMax: 1024,
  idleTimeoutMs: 30_000,
  headTimeoutMs: 10_000,
  writeTimeoutMs: 10_000,
  shutdownTimeoutMs: 60_000,
});

/** The smallest buffers accepted (a head with the longest method name and a few headers). */
export const BUFFER_BYTES_MIN = 1024;

/**
 * The defaults with `overrides` applied, each checked (positive safe integers; buffers at least
 * BUFFER_BYTES_MIN).
 *
 * @example
 * ```ts
 * const limits = h1Limits({ idleTimeoutMs: 5000 });
 * ```
 */
export function h1Limits(overrides: Partial<H1Limits> = {}): H1Limits {
  const limits = { ...H1_LIMITS_DEFAULT, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(
        `Cannot use HTTP/1.1 limits: ${name} ${value} is not a positive integer`,
      );
    }
  }
  for (const name of ["readBufferBytes", "outputBufferBytes"] as const) {
    if (limits[name] < BUFFER_BYTES_MIN) {
      throw new RangeError(
        `Cannot use HTTP/1.1 limits: ${name} ${limits[name]} is below ${BUFFER_BYTES_MIN}`,
      );
    }
  }
  return Object.freeze(limits);
}
