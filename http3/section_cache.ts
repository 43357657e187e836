/**
 * A per-connection cache of what was parsed from QPACK field sections, keyed by the section's
 * bytes. An RPC client sends the same few request heads again and again (same method, path,
 * content type and length), and a server answers with the same few response heads: decoding a
 * section (Huffman strings included) and validating the head were ~5 µs of an HTTP/3 call on
 * the server, a hit costs a hash and a compare of the section's bytes. The server caches parsed
 * request heads, the client parsed response heads.
 *
 * Only sections whose Required Insert Count is 0 are cached: their decoding depends on the bytes
 * alone (the static table and literals), never on the connection's dynamic table, and they need
 * no Section Acknowledgment. A cached value is shared by every message that sent those bytes, so
 * nothing may mutate it. The cache lives per connection so one client never learns, by timing,
 * which heads (tokens included) another client sent.
 *
 * @module
 */

/** Sections longer than this are not cached (a head with a long token, cookies...). */
const SECTION_BYTES_MAX = 1024;
/** Bounds the entries of one connection's cache (at most ~256 KiB of section bytes). */
const ENTRY_COUNT_MAX = 256;

interface Entry<T> {
  readonly section: Uint8Array;
  readonly value: T;
}

/**
 * Values parsed from static-only field sections.
 *
 * @example
 * ```ts
 * const cache = new SectionCache<RequestHead>();
 * const head = cache.lookup(section) ?? parseRequestHead(decode(section));
 * cache.store(section, head);
 * ```
 */
export class SectionCache<T> {
  readonly #entries = new Map<number, Entry<T>>();

  /** The value parsed from these exact bytes before, if cached. */
  lookup(section: Uint8Array): T | undefined {
    if (!cacheable(section)) return undefined;
    const entry = this.#entries.get(hashBytes(section));
    return entry !== undefined && sameBytes(entry.section, section) ? entry.value : undefined;
  }

  /**
   * Remembers `value` as the parse of `section` (ignored for a section that uses the dynamic
   * table or is too long). `section` is copied, so its memory may be reused afterwards.
   */
  store(section: Uint8Array, value: T): void {
    if (!cacheable(section)) return;
    // Clearing when full keeps the cache bounded without LRU bookkeeping; a hash collision
    // replaces the older entry.
    if (this.#entries.size >= ENTRY_COUNT_MAX) this.#entries.clear();
    // A copy: the section may view a read buffer that is reused after the request.
    this.#entries.set(hashBytes(section), { section: section.slice(), value });
  }
}

/** Encoded Required Insert Count 0 (RFC 9204 §4.5.1.1: the prefix's first byte) and short. */
function cacheable(section: Uint8Array): boolean {
  return section.length >= 2 && section[0] === 0 && section.length <= SECTION_BYTES_MAX;
}

/** FNV-1a over the bytes, 32 bits. */
function hashBytes(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
