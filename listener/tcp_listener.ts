/**
 * One TCP listener for the service's HTTP ports, plaintext or TLS: it accepts connections up to
 * a cap, finishes the TLS handshake within a timeout and reads the ALPN protocol it chose, hands
 * each connection to the protocol that serves it (`open`), and shuts down gracefully.
 *
 * Policy, the same on every TCP port and for QUIC (listener/connection_table.ts; docs/reliability.md
 * lists each limit and its default):
 * - At the connection cap, or at the cap per client address, a newcomer makes room by closing
 *   the connection of that scope that has waited longest for its next request (an idle
 *   keep-alive connection, as nginx does); only when none is idle is the newcomer itself closed
 *   at once. So idle connections can never lock clients out, and the backlog never fills with
 *   connections nobody serves.
 * - `accept()` failing with EMFILE/ENFILE (no file descriptor left) pauses accepting for a
 *   backoff, counts the failure (`acceptErrorCount`) and goes on: it never ends the process.
 * - A TLS handshake must finish within `handshakeTimeoutMs`.
 *
 * @module
 */

import type { Clock, Timeout } from "../clock/mod.ts";
import { ConnectionTable, type TableEntry } from "./connection_table.ts";

/** What a protocol returns for a connection it serves. */
export interface ServedConnection {
  /** Serves until the connection ends. */
  run(): Promise<void>;
  /** Closes now. */
  destroy(): void;
  /** Whether it waits for a next request with nothing in flight (may be evicted). */
  readonly idle: boolean;
  /** Finishes in-flight requests and closes (HTTP/2: GOAWAY); absent = `destroy` at the end. */
  drain?(): Promise<void>;
}

/** Every limit of a TCP listener. */
export interface ListenerLimits {
  /** Connections served at once on this listener. */
  readonly connectionCountMax: number;
  /** Connections at once from one client address (a proxy in front counts as one). */
  readonly connectionsPerAddressMax: number;
  /** A TLS handshake must finish within this. */
  readonly handshakeTimeoutMs: number;
  /** After an accept error (no descriptor left), accepting pauses this long. */
  readonly acceptBackoffMs: number;
}

/** The defaults. */
export const LISTENER_LIMITS_DEFAULT: ListenerLimits = Object.freeze({
  connectionCountMax: 1024,
  connectionsPerAddressMax: 512,
  handshakeTimeoutMs: 10_000,
  acceptBackoffMs: 100,
});

/** TLS settings of a listener. */
export interface ListenerTls {
  readonly cert: string;
  readonly key: string;
  /** ALPN protocols offered, preferred first (e.g. ["h2", "http/1.1"]). */
  readonly alpnProtocols: readonly string[];
}

/** Options of `listenTcp`. */
export interface ListenTcpOptions {
  readonly port: number;
  readonly hostname: string;
  /** Null for plaintext. */
  readonly tls: ListenerTls | null;
  readonly clock: Clock;
  readonly limits?: Partial<ListenerLimits>;
  /** Starts serving a connection; `alpn` is the negotiated protocol (null: plaintext, none). */
  readonly open: (conn: Deno.Conn, alpn: string | null) => ServedConnection;
}

/** A running listener. */
export interface TcpListener {
  readonly addr: Deno.NetAddr;
  /** Open connections now (handshakes included). */
  readonly connectionCount: number;
  /** Connections closed at once because the cap was reached and none was idle. */
  readonly refusedCount: number;
  /** Idle connections closed to make room for a newcomer. */
  readonly evictedCount: number;
  /** Accept failures (e.g. EMFILE) survived. */
  readonly acceptErrorCount: number;
  /** TLS handshakes that failed or timed out. */
  readonly handshakeFailureCount: number;
  /**
   * Lets each connection drain (bounded by `timeoutMs`; connections made meanwhile are served
   * by a draining protocol: 503), then stops accepting and closes every one; resolves once
   * `finished` did. Idempotent.
   */
  shutdown(timeoutMs: number): Promise<void>;
  /** Resolves when the listener and every connection have ended. */
  readonly finished: Promise<void>;
}

/** A connection the listener tracks: its protocol side once the handshake is done. */
class Slot implements Timeout, TableEntry {
  clockSlot = -1;
  deadlineAtMs = 0;
  served: ServedConnection | null = null;
  readonly conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Only a served connection waiting for a request is idle (a handshake is not). */
  get idle(): boolean {
    return this.served !== null && this.served.idle;
  }

  /** The handshake took too long. */
  onTimeout(): void {
    if (this.served === null) close(this.conn);
  }

  destroy(): void {
    if (this.served !== null) this.served.destroy();
    else close(this.conn);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

class Listener implements TcpListener {
  readonly addr: Deno.NetAddr;
  acceptErrorCount = 0;
  handshakeFailureCount = 0;
  readonly finished: Promise<void>;
  readonly #options: ListenTcpOptions;
  readonly #limits: ListenerLimits;
  readonly #listener: Deno.Listener;
  readonly #slots: ConnectionTable<Slot>;
  readonly #runs = new Set<Promise<void>>();
  #stopping: Promise<void> | null = null;

  constructor(options: ListenTcpOptions) {
    this.#options = options;
    this.#limits = listenerLimits(options.limits);
    this.#slots = new ConnectionTable<Slot>(this.#limits);
    const tls = options.tls;
    this.#listener = tls === null
      ? Deno.listen({ hostname: options.hostname, port: options.port })
      : Deno.listenTls({
        hostname: options.hostname,
        port: options.port,
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: [...tls.alpnProtocols],
      });
    this.addr = this.#listener.addr as Deno.NetAddr;
    this.finished = this.#acceptLoop();
  }

  get connectionCount(): number {
    return this.#slots.size;
  }

  get refusedCount(): number {
    return this.#slots.refusedCount;
  }

  get evictedCount(): number {
    return this.#slots.evictedCount;
  }

  async #acceptLoop(): Promise<void> {
    // Runs for the listener's life: it ends when the listener closes (shutdown, or its socket
    // failed); each pass accepts one connection or backs off after an accept error.
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopping !== null || error instanceof Deno.errors.BadResource) break;
        if (error instanceof Deno.errors.Interrupted) break;
        // EMFILE/ENFILE and the like: the process is out of descriptors for now. Accepting
        // again at once would spin; the connections that close meanwhile give some back.
        this.acceptErrorCount++;
        await this.#options.clock.sleep(this.#limits.acceptBackoffMs);
        continue;
      }
      const address = (conn.remoteAddr as Deno.NetAddr).hostname ?? "";
      if (this.#slots.admit(address) === "refused") {
        close(conn);
        continue;
      }
      this.#start(conn, address);
    }
    await this.#stopping;
    await Promise.allSettled([...this.#runs]);
  }

  #start(conn: Deno.Conn, address: string): void {
    const slot = new Slot(conn);
    this.#slots.add(slot, address);
    const run = this.#serve(slot).finally(() => {
      this.#slots.remove(slot);
      this.#runs.delete(run);
    });
    this.#runs.add(run);
  }

  async #serve(slot: Slot): Promise<void> {
    const conn = slot.conn;
    let alpn: string | null = null;
    if (this.#options.tls !== null) {
      const clock = this.#options.clock;
      clock.armIn(slot, this.#limits.handshakeTimeoutMs);
      try {
        alpn = (await (conn as Deno.TlsConn).handshake()).alpnProtocol;
      } catch {
        this.handshakeFailureCount++;
        close(conn);
        return;
      } finally {
        clock.disarm(slot);
      }
    }
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // Closed already: the protocol's first read ends it.
    }
    slot.served = this.#options.open(conn, alpn);
    await slot.served.run();
  }

  shutdown(timeoutMs: number): Promise<void> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping.then(() => this.finished);
  }

  /**
   * The listening socket stays open while the connections drain, so a client (or a load
   * balancer's health check) that connects now gets a clear 503 from the protocol instead of a
   * refused connection; then it closes, and so does every connection left.
   */
  async #stop(timeoutMs: number): Promise<void> {
    const drains = this.#slots.entries().map((slot) => slot.served?.drain?.() ?? Promise.resolve());
    await this.#options.clock.within(Promise.allSettled(drains), timeoutMs, null);
    try {
      this.#listener.close();
    } catch {
      // Closed already (its socket failed).
    }
    for (const slot of this.#slots.entries()) slot.destroy();
  }
}

/**
 * The defaults with `overrides` applied, each checked (positive safe integers).
 *
 * @example
 * ```ts
 * const limits = listenerLimits({ connectionCountMax: 64 });
 * ```
 */
export function listenerLimits(overrides: Partial<ListenerLimits> = {}): ListenerLimits {
  const limits = { ...LISTENER_LIMITS_DEFAULT, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot listen: ${name} ${value} is not a positive integer`);
    }
  }
  return Object.freeze(limits);
}

/**
 * Starts a TCP listener (plaintext when `tls` is null). A listen error names the port and the
 * protocol.
 *
 * @example
 * ```ts
 * const listener = listenTcp({ port: 0, hostname: "127.0.0.1", tls: null, clock,
 *   open: (conn) => http1.connection(conn) });
 * await listener.shutdown(10_000);
 * ```
 */
export function listenTcp(options: ListenTcpOptions): TcpListener {
  try {
    return new Listener(options);
  } catch (error) {
    const what = options.tls === null ? "TCP (plaintext HTTP/1.1)" : "TCP (TLS: h2, http/1.1)";
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot listen on ${options.hostname}:${options.port} ${what}: ${reason}`, {
      cause: error,
    });
  }
}
