/**
 * The frozen interned method set: built at boot from the handler table, then frozen.
 *
 * Every name gets a small integer id (its index in the table). Lookup works on a JS string (the
 * URL path segment) and on raw UTF-8 bytes (the envelope's methodName inside pool memory) without
 * decoding them. Both reject empty, over-long, non-ASCII and unknown names in time proportional
 * to the name's length, without allocating: the length selects a bucket (an array indexed by
 * length), and a name is compared byte by byte against the few names of that length.
 *
 * @module
 */

import type { AnyMethodSpec } from "./method.ts";

/** The longest method name accepted, in bytes. */
export const METHOD_NAME_BYTES_MAX = 64;

/** The largest number of methods a registry holds (ids fit a small integer). */
export const METHOD_COUNT_MAX = 1024;

/** Returned by lookups for a name that is not in the set. */
export const METHOD_ID_NONE = -1;

/** One name of a length bucket: its bytes and id. */
interface Entry {
  readonly bytes: Uint8Array;
  readonly id: number;
}

const EMPTY_BUCKET: readonly Entry[] = Object.freeze([]);

/**
 * Checks that `name` is a valid method name (ASCII letters, digits, `.`, `_`, `-`; 1..64 bytes).
 * Throws a TypeError or RangeError otherwise.
 */
function validateName(name: string): void {
  if (typeof name !== "string") throw new TypeError("Cannot add method: name is not a string");
  if (name.length === 0 || name.length > METHOD_NAME_BYTES_MAX) {
    throw new RangeError(
      `Cannot add method: name length ${name.length} is outside 1..${METHOD_NAME_BYTES_MAX}`,
    );
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
      c === 0x2e || c === 0x5f || c === 0x2d;
    if (!ok) {
      throw new RangeError(`Cannot add method: name ${JSON.stringify(name)} has character ${c}`);
    }
  }
}

/**
 * The method set. Add every method, then `freeze()`; afterwards adding throws and lookups work.
 *
 * @example
 * ```ts
 * const registry = new MethodRegistry().add(echoSpec).freeze();
 * registry.lookup("system.echo"); // 0
 * ```
 */
export class MethodRegistry {
  #specs: AnyMethodSpec[] = [];
  #byName = new Map<string, number>();
  /** Index = name length in bytes; each bucket lists the names of that length. */
  #buckets: (readonly Entry[])[] = [];
  #frozen = false;

  /** Adds a method (before `freeze`); returns `this`. Throws on duplicates or bad names. */
  add(spec: AnyMethodSpec): this {
    if (this.#frozen) {
      throw new TypeError(`Cannot add method ${spec.name}: the method set is frozen`);
    }
    validateName(spec.name);
    if (this.#byName.has(spec.name)) {
      throw new TypeError(`Cannot add method ${spec.name}: the name is already registered`);
    }
    if (spec.mutating && spec.sideEffectFree === true) {
      throw new TypeError(`Cannot add method ${spec.name}: a mutating method has side effects`);
    }
    if (this.#specs.length >= METHOD_COUNT_MAX) {
      throw new RangeError(`Cannot add method ${spec.name}: more than ${METHOD_COUNT_MAX}`);
    }
    this.#byName.set(spec.name, this.#specs.length);
    this.#specs.push(spec);
    return this;
  }

  /** Freezes the set: builds the byte buckets; adding afterwards throws. Returns `this`. */
  freeze(): this {
    if (this.#frozen) return this;
    const encoder = new TextEncoder();
    const buckets: Entry[][] = [];
    for (let len = 0; len <= METHOD_NAME_BYTES_MAX; len++) buckets.push([]);
    this.#specs.forEach((spec, id) => {
      const bytes = encoder.encode(spec.name);
      buckets[bytes.length].push({ bytes, id });
    });
    this.#buckets = buckets.map((b) => (b.length === 0 ? EMPTY_BUCKET : Object.freeze(b)));
    Object.freeze(this.#specs);
    this.#frozen = true;
    return this;
  }

  /** Whether `freeze()` was called. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Every method in id order. */
  get methods(): readonly AnyMethodSpec[] {
    return this.#specs;
  }

  /** The number of methods. */
  get size(): number {
    return this.#specs.length;
  }

  /** The spec of id `id`; throws a RangeError for an unknown id. */
  get(id: number): AnyMethodSpec {
    const spec = this.#specs[id];
    if (spec === undefined) throw new RangeError(`Cannot get method: id ${id} is unknown`);
    return spec;
  }

  /**
   * The id of the method named `name`, or `METHOD_ID_NONE`. Over-long names are rejected by
   * length before hashing, so the work is bounded by 64 characters.
   */
  lookup(name: string): number {
    if (!this.#frozen) throw new TypeError("Cannot look up a method: the set is not frozen");
    if (name.length === 0 || name.length > METHOD_NAME_BYTES_MAX) return METHOD_ID_NONE;
    return this.#byName.get(name) ?? METHOD_ID_NONE;
  }

  /**
   * The id of the method whose UTF-8 name is `bytes[offset, offset + length)`, or
   * `METHOD_ID_NONE`. Never decodes or allocates; a non-ASCII byte can never equal a stored name.
   */
  lookupBytes(bytes: Uint8Array, offset: number, length: number): number {
    if (!this.#frozen) throw new TypeError("Cannot look up a method: the set is not frozen");
    if (length <= 0 || length > METHOD_NAME_BYTES_MAX) return METHOD_ID_NONE;
    if (offset < 0 || offset + length > bytes.length) return METHOD_ID_NONE;
    const bucket = this.#buckets[length];
    for (let e = 0; e < bucket.length; e++) {
      const candidate = bucket[e].bytes;
      let i = 0;
      while (i < length && candidate[i] === bytes[offset + i]) i++;
      if (i === length) return bucket[e].id;
    }
    return METHOD_ID_NONE;
  }
}

/**
 * Builds the frozen method set from a table.
 *
 * @example
 * ```ts
 * const registry = createRegistry(METHODS);
 * ```
 */
export function createRegistry(table: readonly AnyMethodSpec[]): MethodRegistry {
  if (table.length > METHOD_COUNT_MAX) {
    throw new RangeError(
      `Cannot build method set: ${table.length} methods exceed ${METHOD_COUNT_MAX}`,
    );
  }
  const registry = new MethodRegistry();
  for (const spec of table) registry.add(spec);
  return registry.freeze();
}
