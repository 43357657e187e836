/**
 * Entity tags of GET answers (RFC 9110 section 8.8.3) and the `If-None-Match` check (section
 * 13.1.2). Every tag is weak (`W/"..."`): it names the result, not the bytes, so one tag holds
 * for the identity and the compressed forms of an answer alike, and If-None-Match compares
 * weakly anyway.
 *
 * A method may derive its tag from its result (`MethodSpec.etag`: `worknode.get` uses the
 * worknode's id and version), which lets a matching If-None-Match be answered 304 before the
 * result is encoded; every other GET is tagged by a 64-bit hash of its encoded answer. The
 * opaque part starts with the wire (`j.` JSON, `c.` Cap'n Proto), so a tag held for one wire
 * never validates the other.
 *
 * @module
 */

import type { WireKind } from "./media_type.ts";

/** The longest If-None-Match value looked at; a longer one matches nothing. */
export const IF_NONE_MATCH_CHARS_MAX = 4096;

/** The most entity tags of one If-None-Match looked at. */
export const IF_NONE_MATCH_TAGS_MAX = 64;

/** The final mix of the two 32-bit lanes, as 16 hex digits. */
function finalHex(a: number, b: number): string {
  const h1 = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  const h2 = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, "0") + (h1 >>> 0).toString(16).padStart(8, "0");
}

/**
 * A 64-bit hash (two multiplicative lanes, as cyrb53) of `bytes`, as 16 hex digits. Not
 * cryptographic: it tells versions of one resource apart.
 *
 * @example
 * ```ts
 * hashBytesHex(new TextEncoder().encode("abc")).length; // 16
 * ```
 */
export function hashBytesHex(bytes: Uint8Array): string {
  let h1 = 0xdeadbeef ^ bytes.length;
  let h2 = 0x41c6ce57 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  return finalHex(h1, h2);
}

/**
 * The same hash of a string's UTF-16 code units (ids, for `MethodSpec.etag`).
 *
 * @example
 * ```ts
 * hashTextHex("wn-1") === hashTextHex("wn-1"); // true
 * ```
 */
export function hashTextHex(text: string): string {
  let h1 = 0xdeadbeef ^ text.length;
  let h2 = 0x41c6ce57 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  return finalHex(h1, h2);
}

/**
 * The weak tag of `opaque` (etagc characters only: the callers make it of hex digits, `.` and
 * decimal versions) for the answer's wire.
 *
 * @example
 * ```ts
 * weakTag("json", "wn.3.00ff"); // 'W/"j.wn.3.00ff"'
 * ```
 */
export function weakTag(wire: WireKind, opaque: string): string {
  return `W/"${wire === "json" ? "j" : "c"}.${opaque}"`;
}

/**
 * Whether `ifNoneMatch` matches the current tag `tag` by the weak comparison: `*`, or one of
 * its listed tags with the same opaque part (with or without `W/`). An absent, malformed or
 * over-long field matches nothing (the answer is then sent in full).
 *
 * @example
 * ```ts
 * ifNoneMatchHits('"x", W/"j.wn.3.00ff"', 'W/"j.wn.3.00ff"'); // true
 * ifNoneMatchHits(null, 'W/"j.1"'); // false
 * ```
 */
export function ifNoneMatchHits(ifNoneMatch: string | null, tag: string): boolean {
  if (ifNoneMatch === null || ifNoneMatch.length > IF_NONE_MATCH_CHARS_MAX) return false;
  const opaque = tag.startsWith("W/") ? tag.slice(2) : tag;
  let i = 0;
  // Each pass reads one list member and moves past it; the count bounds hostile lists too.
  for (let n = 0; n < IF_NONE_MATCH_TAGS_MAX && i < ifNoneMatch.length; n++) {
    while (ifNoneMatch[i] === " " || ifNoneMatch[i] === "\t" || ifNoneMatch[i] === ",") i++;
    if (i >= ifNoneMatch.length) break;
    if (ifNoneMatch[i] === "*") return true;
    if (ifNoneMatch.startsWith("W/", i)) i += 2;
    if (ifNoneMatch[i] !== '"') return false;
    const close = ifNoneMatch.indexOf('"', i + 1);
    if (close < 0) return false;
    if (close + 1 - i === opaque.length && ifNoneMatch.startsWith(opaque, i)) return true;
    i = close + 1;
  }
  return false;
}
