/**
 * The GET form of a call, as Connect's GET requests are shaped: `GET /rpc/<method>?message=<the
 * params, base64url>&encoding=json|capnp` (docs/design.md, "Read-only calls over GET"). The
 * message is what a POST body would be — the params' JSON text, or a framed Cap'n Proto
 * RpcRequest — in base64url (RFC 4648 section 5), padding optional; no message is an empty
 * body. `encoding` defaults to `json`. Other parameters are ignored (cache busters, Connect's
 * `connect=v1`); a repeated `message` or `encoding` is refused.
 *
 * The query is read only after the method was found and the token checked (core.ts). It is
 * parsed byte for byte where it lies (the HTTP/1.1 read buffer, or the copy of a `:path`), and
 * the message is decoded straight into the call's pool block.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import type { WireKind } from "./media_type.ts";
import { TARGET_BYTES_MAX } from "./route.ts";

/** The longest GET target (path and query), in bytes; a longer one is answered 414. */
export const GET_TARGET_BYTES_MAX = TARGET_BYTES_MAX;

/** What a GET's query says. */
export interface GetQuery {
  readonly wire: WireKind;
  /** Where the base64url message lies in the target bytes (empty when absent). */
  readonly messageStart: number;
  readonly messageEnd: number;
  /** The message's decoded length. */
  readonly decodedBytes: number;
}

/** base64url's alphabet: 6-bit values, or -1. */
const BASE64URL = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

const MESSAGE = new TextEncoder().encode("message");
const ENCODING = new TextEncoder().encode("encoding");
const WIRES: readonly [WireKind, Uint8Array][] = [
  ["json", new TextEncoder().encode("json")],
  ["capnp", new TextEncoder().encode("capnp")],
];

function bytesEqual(bytes: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (bytes[start + i] !== word[i]) return false;
  return true;
}

function badQuery(why: string): RpcError {
  return new RpcError("invalid_argument", `Cannot call: the query ${why}`);
}

/**
 * The decoded length of the base64url text `bytes[start, end)` (padding optional), or -1 when
 * it is not base64url.
 */
function base64UrlLength(bytes: Uint8Array, start: number, end: number): number {
  let stop = end;
  if (stop > start && bytes[stop - 1] === 0x3d) stop--;
  if (stop > start && bytes[stop - 1] === 0x3d) stop--;
  const chars = stop - start;
  if (chars % 4 === 1 || (stop !== end && (end - start) % 4 !== 0)) return -1;
  for (let i = start; i < stop; i++) if (BASE64URL[bytes[i]] < 0) return -1;
  return Math.floor(chars * 3 / 4);
}

/**
 * Reads the query `bytes[start, end)` of a GET (start -1: none). Throws RpcError 400 for a
 * repeated parameter or a message that is not base64url, 415 for another encoding.
 *
 * @example
 * ```ts
 * const query = parseGetQuery(bytes, head.queryStart, head.queryEnd);
 * query.wire; // "json"
 * ```
 */
export function parseGetQuery(bytes: Uint8Array, start: number, end: number): GetQuery {
  let wire: WireKind | null = null;
  let messageStart = -1;
  let messageEnd = -1;
  // Each pass reads one `name=value` and moves past its `&`: bounded by the query's length.
  for (let i = start; start >= 0 && i < end;) {
    let stop = i;
    while (stop < end && bytes[stop] !== 0x26) stop++;
    let eq = i;
    while (eq < stop && bytes[eq] !== 0x3d) eq++;
    const valueStart = Math.min(eq + 1, stop);
    if (bytesEqual(bytes, i, eq, MESSAGE)) {
      if (messageStart >= 0) throw badQuery("names message twice");
      messageStart = valueStart;
      messageEnd = stop;
    } else if (bytesEqual(bytes, i, eq, ENCODING)) {
      if (wire !== null) throw badQuery("names encoding twice");
      wire = wireOf(bytes, valueStart, stop);
    }
    i = stop + 1;
  }
  if (messageStart < 0) messageStart = messageEnd = Math.max(0, end);
  const decodedBytes = base64UrlLength(bytes, messageStart, messageEnd);
  if (decodedBytes < 0) throw badQuery("message is not base64url");
  return { wire: wire ?? "json", messageStart, messageEnd, decodedBytes };
}

function wireOf(bytes: Uint8Array, start: number, end: number): WireKind {
  for (const [wire, word] of WIRES) if (bytesEqual(bytes, start, end, word)) return wire;
  throw new RpcError("invalid_argument", "Cannot call: encoding must be json or capnp", {
    httpStatus: 415,
  });
}

/**
 * Decodes the message `parseGetQuery` found into `out` (at least `decodedBytes` long);
 * returns the decoded length.
 *
 * @example
 * ```ts
 * const n = decodeMessageInto(bytes, query, lease.bytes);
 * ```
 */
export function decodeMessageInto(bytes: Uint8Array, query: GetQuery, out: Uint8Array): number {
  let stop = query.messageEnd;
  while (stop > query.messageStart && bytes[stop - 1] === 0x3d) stop--;
  let o = 0;
  let bits = 0;
  let held = 0;
  for (let i = query.messageStart; i < stop; i++) {
    // At most 12 bits are pending: keep only those.
    held = ((held << 6) | BASE64URL[bytes[i]]) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (held >>> bits) & 0xff;
    }
  }
  return o;
}
