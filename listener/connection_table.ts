/**
 * The connection policy every listener shares — TCP (plaintext and TLS) and QUIC: a cap on
 * connections in total and per client address, and, at either cap, room made for a newcomer by
 * closing the connection of that scope that has waited longest with nothing in flight (an idle
 * keep-alive connection, as nginx does). Only when none is idle is the newcomer refused. So
 * neither a flood of idle connections nor one address can lock other clients out
 * (docs/reliability.md, "Connections").
 *
 * @module
 */

/** What the table needs of a connection. */
export interface TableEntry {
  /** Whether it waits with nothing in flight (it may be closed to make room). */
  readonly idle: boolean;
  /** Closes it now. */
  destroy(): void;
}

/** The caps. */
export interface ConnectionCaps {
  /** Connections at once. */
  readonly connectionCountMax: number;
  /** Connections at once from one client address. */
  readonly connectionsPerAddressMax: number;
}

/** What admitting a newcomer did. */
export type Admission = "admitted" | "evicted" | "refused";

/**
 * The live connections of one listener.
 *
 * @example
 * ```ts
 * const table = new ConnectionTable<Slot>({ connectionCountMax: 1024, connectionsPerAddressMax: 512 });
 * if (table.admit("10.0.0.7") !== "refused") table.add(slot, "10.0.0.7");
 * table.remove(slot);
 * ```
 */
export class ConnectionTable<T extends TableEntry> {
  readonly caps: ConnectionCaps;
  /** In insertion order: the first idle one found is the one that waited longest. */
  readonly #entries = new Map<T, string>();
  readonly #perAddress = new Map<string, number>();
  evictedCount = 0;
  refusedCount = 0;

  constructor(caps: ConnectionCaps) {
    for (const [name, value] of Object.entries(caps)) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`Cannot keep connections: ${name} ${value} is not a positive integer`);
      }
    }
    this.caps = Object.freeze({ ...caps });
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Connections from `address` now. */
  countOf(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }

  /**
   * Makes room for a newcomer from `address`: under both caps it is admitted; at a cap an idle
   * connection of that scope (the address's own at the address cap) is closed for it; with none
   * idle it is refused. The caller adds an admitted newcomer with `add`.
   */
  admit(address: string): Admission {
    let outcome: Admission = "admitted";
    if (this.countOf(address) >= this.caps.connectionsPerAddressMax) {
      if (!this.#evictIdle(address)) return this.#refuse();
      outcome = "evicted";
    }
    if (this.#entries.size >= this.caps.connectionCountMax) {
      if (!this.#evictIdle(null)) return this.#refuse();
      outcome = "evicted";
    }
    return outcome;
  }

  add(entry: T, address: string): void {
    this.#entries.set(entry, address);
    this.#perAddress.set(address, this.countOf(address) + 1);
  }

  /** Forgets a connection (it ended, or was evicted). Idempotent. */
  remove(entry: T): void {
    const address = this.#entries.get(entry);
    if (address === undefined) return;
    this.#entries.delete(entry);
    const left = this.countOf(address) - 1;
    if (left <= 0) this.#perAddress.delete(address);
    else this.#perAddress.set(address, left);
  }

  /** Every connection now (a copy: safe to destroy while iterating). */
  entries(): T[] {
    return [...this.#entries.keys()];
  }

  #refuse(): "refused" {
    this.refusedCount++;
    return "refused";
  }

  /**
   * Closes the longest-waiting idle connection (of `address`, or of any address when null);
   * false when none is idle. Bounded by the connections in the table.
   */
  #evictIdle(address: string | null): boolean {
    for (const [entry, from] of this.#entries) {
      if ((address === null || from === address) && entry.idle) {
        this.evictedCount++;
        this.remove(entry);
        entry.destroy();
        return true;
      }
    }
    return false;
  }
}
