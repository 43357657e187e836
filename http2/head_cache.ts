/**
 * A per-connection cache of parsed request heads keyed by their header block's bytes. A client
 * sends the same few heads again and again; after the first request, browsers, curl and h2load
 * send a block of indexed references into the dynamic table (a few bytes), which decodes to
 * the same fields as long as the table has not changed. A hit costs a hash and a compare of
 * the block instead of an HPACK decode and a validation.
 *
 * An entry is stored only for a block that left the dynamic table unchanged (else decoding the
 * same bytes again would change the table again, which a hit would skip). A block that referred
 * to the table is valid only while the table's `epoch` is the one it was decoded at; a block of
 * static references and literals is valid whatever the table holds. The cache lives per
 * connection so one client never learns, by timing, which heads another client sent.
 *
 * @example
 * ```ts
 * const cache = new HeadCache<ParsedHead>();
 * const head = cache.lookup(buf, start, end, table.epoch);
 * if (head === undefined) cache.store(buf, start, end, usedDynamic ? table.epoch : -1, parsed, parsed.sizeBytes);
 * ```
 * @module
 */

/** Blocks longer than this are not cached (a head with a long cookie...). */
export const HEAD_CACHE_BLOCK_BYTES_MAX = 512;
/** Heads larger than this (name + value + 32 per field) are not cached. */
export const HEAD_CACHE_HEAD_BYTES_MAX = 2048;
/** Bounds the entries of one connection's cache: at most 16 * (512 + 2048) bytes held. */
export const HEAD_CACHE_ENTRY_COUNT_MAX = 16;

interface Entry<T> {
  readonly block: Uint8Array;
  /** The table epoch the block is valid at, or -1: valid at any epoch. */
  readonly epoch: number;
  readonly value: T;
  readonly heldBytes: number;
}

/**
 * Parsed heads by block bytes.
 *
 * @example
 * ```ts
 * const cache = new HeadCache<string>();
 * cache.store(block, 0, block.length, -1, "parsed", 6);
 * cache.lookup(block, 0, block.length, 7); // "parsed"
 * ```
 */
export class HeadCache<T> {
  readonly #entries = new Map<number, Entry<T>>();
  #bytes = 0;

  /** Bytes of blocks and heads held (the engine's memory accounting). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The value stored for exactly `buf[start, end)` that is valid at `epoch`, if any. */
  lookup(buf: Uint8Array, start: number, end: number, epoch: number): T | undefined {
    if (end - start > HEAD_CACHE_BLOCK_BYTES_MAX) return undefined;
    const entry = this.#entries.get(hashBytes(buf, start, end));
    if (entry === undefined || (entry.epoch !== -1 && entry.epoch !== epoch)) return undefined;
    return sameBytes(entry.block, buf, start, end) ? entry.value : undefined;
  }

  /**
   * Remembers `value` (a head of `valueBytes`) for `buf[start, end)` (copied), valid at `epoch`
   * (-1: at any). Ignored for a long block or a large head.
   */
  store(
    buf: Uint8Array,
    start: number,
    end: number,
    epoch: number,
    value: T,
    valueBytes: number,
  ): void {
    if (end - start > HEAD_CACHE_BLOCK_BYTES_MAX || valueBytes > HEAD_CACHE_HEAD_BYTES_MAX) return;
    // Clearing when full keeps the cache bounded without LRU bookkeeping; a hash collision
    // replaces the older entry.
    if (this.#entries.size >= HEAD_CACHE_ENTRY_COUNT_MAX) {
      this.#entries.clear();
      this.#bytes = 0;
    }
    const hash = hashBytes(buf, start, end);
    const old = this.#entries.get(hash);
    if (old !== undefined) this.#bytes -= old.heldBytes;
    const heldBytes = end - start + valueBytes;
    this.#entries.set(hash, { block: buf.slice(start, end), epoch, value, heldBytes });
    this.#bytes += heldBytes;
  }
}

/** FNV-1a over the bytes, 32 bits. */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
  return hash >>> 0;
}

function sameBytes(block: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (block.length !== end - start) return false;
  for (let i = 0; i < block.length; i++) if (block[i] !== buf[start + i]) return false;
  return true;
}
