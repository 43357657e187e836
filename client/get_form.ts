/**
 * The GET form of a call (docs/design.md, "Read-only calls over GET"): the message a POST would
 * carry, in base64url in the query. The client's tag cache remembers, per GET URL, the entity
 * tag and body of the last 200, so it can send If-None-Match and take a 304 from it.
 *
 * @module
 */

/**
 * base64url without padding (RFC 4648 section 5).
 *
 * @example
 * ```ts
 * base64Url(new Uint8Array([0xfb, 0xff])); // "-_8"
 * ```
 */
export function base64Url(bytes: Uint8Array): string {
  let text = "";
  // Chunks keep the argument list of fromCharCode short.
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The target of a GET call of `method` with `message` (the POST body it stands for).
 *
 * @example
 * ```ts
 * getTarget("worknode.get", new TextEncoder().encode('{"id":"n1"}'), "json");
 * // "/rpc/worknode.get?encoding=json&message=eyJpZCI6Im4xIn0"
 * ```
 */
export function getTarget(method: string, message: Uint8Array, wire: "json" | "capnp"): string {
  return `/rpc/${method}?encoding=${wire}&message=${base64Url(message)}`;
}

/** A 200 the tag cache holds: its tag and decoded body. */
export interface TaggedAnswer {
  readonly etag: string;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/**
 * The last tagged answer per GET URL, bounded: the least recently used entry goes first.
 *
 * @example
 * ```ts
 * const tags = new TagCache(256);
 * tags.set(url, { etag, contentType, body });
 * tags.get(url)?.etag;
 * ```
 */
export class TagCache {
  readonly #entriesMax: number;
  readonly #entries = new Map<string, TaggedAnswer>();

  constructor(entriesMax: number) {
    if (!Number.isSafeInteger(entriesMax) || entriesMax < 0) {
      throw new RangeError(`Cannot make a tag cache of ${entriesMax} entries`);
    }
    this.#entriesMax = entriesMax;
  }

  get(url: string): TaggedAnswer | undefined {
    const entry = this.#entries.get(url);
    if (entry !== undefined) {
      // Map order is insertion order: re-inserting marks the entry as the most recent.
      this.#entries.delete(url);
      this.#entries.set(url, entry);
    }
    return entry;
  }

  set(url: string, entry: TaggedAnswer): void {
    if (this.#entriesMax === 0) return;
    this.#entries.delete(url);
    if (this.#entries.size >= this.#entriesMax) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(url, entry);
  }
}
