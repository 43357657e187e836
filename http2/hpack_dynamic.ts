/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of fields, newest first, whose size
 * (name + value + 32 octets per entry) stays within a maximum the encoder sets by size updates,
 * itself bounded by the decoder's SETTINGS_HEADER_TABLE_SIZE.
 *
 * Entries live in a ring of preallocated slots: at most `limitBytes / 32` entries can exist, so
 * the ring never grows. Every change bumps `epoch`, which lets a cache of decoded header blocks
 * know that a block referring to the table still means the same fields.
 *
 * @example
 * ```ts
 * import { DynamicTable } from "./hpack_dynamic.ts";
 * const table = new DynamicTable(4096);
 * table.insert("custom-key", "custom-header");
 * table.sizeBytes; // 55
 * table.name(1); // "custom-key" (1 = newest)
 * ```
 * @module
 */

/** Octets counted per entry besides its name and value (RFC 7541 §4.1). */
export const HPACK_ENTRY_OVERHEAD_BYTES = 32;

/**
 * A dynamic table bounded by `limitBytes` (the largest maximum size an encoder may set).
 *
 * @example
 * ```ts
 * const table = new DynamicTable(4096);
 * table.setMaxSize(0); // evicts everything
 * ```
 */
export class DynamicTable {
  /** The bound on `maxSizeBytes` (our SETTINGS_HEADER_TABLE_SIZE). */
  readonly limitBytes: number;
  /** The current maximum size (the last size update; starts at `limitBytes`). */
  maxSizeBytes: number;
  /** The current size (RFC 7541 §4.1). */
  sizeBytes = 0;
  /** Entries now. */
  count = 0;
  /** Bumped by every insert, eviction and size update. */
  epoch = 0;
  readonly #names: string[];
  readonly #values: string[];
  /** Ring slot of the newest entry. */
  #newest = 0;

  constructor(limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0 || limitBytes > 2 ** 24) {
      throw new RangeError(`Cannot make HPACK table: limit ${limitBytes} is outside 0..2^24`);
    }
    this.limitBytes = limitBytes;
    this.maxSizeBytes = limitBytes;
    const slots = Math.floor(limitBytes / HPACK_ENTRY_OVERHEAD_BYTES) + 1;
    this.#names = new Array<string>(slots).fill("");
    this.#values = new Array<string>(slots).fill("");
  }

  /** The ring slot of dynamic index `index` (1 = newest), which the caller has checked. */
  #slot(index: number): number {
    const slots = this.#names.length;
    return (this.#newest - (index - 1) + slots) % slots;
  }

  /** The name at dynamic index `index` (1..count; 1 = newest). */
  name(index: number): string {
    return this.#names[this.#slot(index)];
  }

  /** The value at dynamic index `index` (1..count; 1 = newest). */
  value(index: number): string {
    return this.#values[this.#slot(index)];
  }

  /**
   * Adds a field as the newest entry, evicting the oldest until it fits; an entry larger than
   * the maximum size empties the table and is not added (RFC 7541 §4.4).
   */
  insert(name: string, value: string): void {
    const entryBytes = name.length + value.length + HPACK_ENTRY_OVERHEAD_BYTES;
    this.epoch++;
    if (entryBytes > this.maxSizeBytes) {
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.maxSizeBytes - entryBytes);
    const slots = this.#names.length;
    this.#newest = (this.#newest + 1) % slots;
    this.#names[this.#newest] = name;
    this.#values[this.#newest] = value;
    this.count++;
    this.sizeBytes += entryBytes;
  }

  /** Sets the maximum size (a size update the caller checked against `limitBytes`). */
  setMaxSize(bytes: number): void {
    if (bytes > this.limitBytes) {
      throw new RangeError(`Cannot resize HPACK table: ${bytes} exceeds ${this.limitBytes}`);
    }
    this.maxSizeBytes = bytes;
    this.epoch++;
    this.#evictTo(bytes);
  }

  /** Evicts oldest entries until the size is at most `bytes` (bounded by the entry count). */
  #evictTo(bytes: number): void {
    while (this.sizeBytes > bytes && this.count > 0) {
      const slot = this.#slot(this.count);
      this.sizeBytes -= this.#names[slot].length + this.#values[slot].length +
        HPACK_ENTRY_OVERHEAD_BYTES;
      this.#names[slot] = "";
      this.#values[slot] = "";
      this.count--;
    }
  }

  /** The index of an entry with this name and value (1 = newest), or 0 (encoders in tests). */
  findExact(name: string, value: string): number {
    for (let i = 1; i <= this.count; i++) {
      if (this.name(i) === name && this.value(i) === value) return i;
    }
    return 0;
  }
}
