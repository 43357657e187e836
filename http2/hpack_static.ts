/**
 * The HPACK static table (RFC 7541 Appendix A): 61 entries, indexed from 1 (index 0 is not
 * used; dynamic entries start at 62), and the lookups an encoder needs.
 *
 * @example
 * ```ts
 * import { HPACK_STATIC_TABLE, hpackStaticExact, hpackStaticName } from "./hpack_static.ts";
 * HPACK_STATIC_TABLE[8]; // [":status", "200"]
 * hpackStaticExact(":method", "POST"); // 3
 * hpackStaticName("content-type"); // 31
 * ```
 * @module
 */

/** A field: name and value, as ByteStrings (one char per octet). */
export type HpackField = readonly [name: string, value: string];

/** Entries in the static table; the first dynamic index is this + 1. */
export const HPACK_STATIC_COUNT = 61;

/** RFC 7541 Appendix A, with a placeholder at index 0 so that entry i is at [i]. */
export const HPACK_STATIC_TABLE: readonly HpackField[] = Object.freeze(
  [
    ["", ""],
    [":authority", ""],
    [":method", "GET"],
    [":method", "POST"],
    [":path", "/"],
    [":path", "/index.html"],
    [":scheme", "http"],
    [":scheme", "https"],
    [":status", "200"],
    [":status", "204"],
    [":status", "206"],
    [":status", "304"],
    [":status", "400"],
    [":status", "404"],
    [":status", "500"],
    ["accept-charset", ""],
    ["accept-encoding", "gzip, deflate"],
    ["accept-language", ""],
    ["accept-ranges", ""],
    ["accept", ""],
    ["access-control-allow-origin", ""],
    ["age", ""],
    ["allow", ""],
    ["authorization", ""],
    ["cache-control", ""],
    ["content-disposition", ""],
    ["content-encoding", ""],
    ["content-language", ""],
    ["content-length", ""],
    ["content-location", ""],
    ["content-range", ""],
    ["content-type", ""],
    ["cookie", ""],
    ["date", ""],
    ["etag", ""],
    ["expect", ""],
    ["expires", ""],
    ["from", ""],
    ["host", ""],
    ["if-match", ""],
    ["if-modified-since", ""],
    ["if-none-match", ""],
    ["if-range", ""],
    ["if-unmodified-since", ""],
    ["last-modified", ""],
    ["link", ""],
    ["location", ""],
    ["max-forwards", ""],
    ["proxy-authenticate", ""],
    ["proxy-authorization", ""],
    ["range", ""],
    ["referer", ""],
    ["refresh", ""],
    ["retry-after", ""],
    ["server", ""],
    ["set-cookie", ""],
    ["strict-transport-security", ""],
    ["transfer-encoding", ""],
    ["user-agent", ""],
    ["vary", ""],
    ["via", ""],
    ["www-authenticate", ""],
  ] as const,
);

/** Index of the `content-length` name (the encoder writes its value without caching it). */
export const HPACK_STATIC_CONTENT_LENGTH = 28;

const exactIndex = new Map<string, number>();
const nameIndex = new Map<string, number>();
for (let index = HPACK_STATIC_COUNT; index >= 1; index--) {
  // Walking backwards leaves the lowest index for each key: it encodes in the fewest bytes.
  const [name, value] = HPACK_STATIC_TABLE[index];
  if (value !== "") exactIndex.set(`${name}\u0000${value}`, index);
  nameIndex.set(name, index);
}

/**
 * The static index holding exactly this name and value, or 0. Entries with an empty value are
 * not matched (an empty value is sent as a literal with the name's index, as cheaply).
 *
 * @example
 * ```ts
 * hpackStaticExact(":status", "404"); // 13
 * ```
 */
export function hpackStaticExact(name: string, value: string): number {
  return exactIndex.get(`${name}\u0000${value}`) ?? 0;
}

/**
 * The lowest static index with this name, or 0.
 *
 * @example
 * ```ts
 * hpackStaticName(":status"); // 8
 * ```
 */
export function hpackStaticName(name: string): number {
  return nameIndex.get(name) ?? 0;
}
