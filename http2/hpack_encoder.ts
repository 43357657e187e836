/**
 * HPACK encoding (RFC 7541 §5, §6): prefixed integers, string literals (Huffman when shorter),
 * a general block encoder for requests and tests, and the server's response-head encoder.
 *
 * The response encoder uses the static table and literals without indexing only, so a block
 * depends on its fields alone: the block for a repeated (status, fields) is encoded once and
 * kept in a small per-connection cache. `content-length` is left out of the cache key and
 * appended as a raw literal, so answers that differ only in their length share one entry. The
 * encoder announces a dynamic table of size 0 at the start of the connection's first block (and
 * again after the peer changes SETTINGS_HEADER_TABLE_SIZE), so no peer setting can make our
 * empty table invalid.
 *
 * @example
 * ```ts
 * import { encodeFieldBlock, ResponseHeadEncoder } from "./hpack_encoder.ts";
 * encodeFieldBlock([[":method", "GET"]]); // Uint8Array [0x82]
 * const encoder = new ResponseHeadEncoder();
 * encoder.encode(200, [["content-type", "application/capnp"], ["content-length", "5"]]);
 * ```
 * @module
 */

import {
  huffmanEncodeByteStringInto,
  huffmanEncodedLengthOfByteString,
} from "../http_common/huffman.ts";
import type { DynamicTable } from "./hpack_dynamic.ts";
import {
  HPACK_STATIC_CONTENT_LENGTH,
  HPACK_STATIC_COUNT,
  type HpackField,
  hpackStaticExact,
  hpackStaticName,
} from "./hpack_static.ts";

/** Bytes a prefixed integer takes at most here (values below 2^28). */
const INTEGER_BYTES_MAX = 5;

/**
 * Writes `value` as a prefixed integer (RFC 7541 §5.1) whose first byte carries `flags` above
 * the `prefixBits`; returns the offset after it. `out` must have room for 5 bytes.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(3);
 * writeInteger(out, 0, 1337, 5, 0); // 3; out is 1f 9a 0a
 * ```
 */
export function writeInteger(
  out: Uint8Array,
  at: number,
  value: number,
  prefixBits: number,
  flags: number,
): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out[at] = flags | value;
    return at + 1;
  }
  out[at++] = flags | mask;
  value -= mask;
  while (value >= 128) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at] = value;
  return at + 1;
}

/** The bytes a string literal takes (with Huffman when shorter). */
function stringBytes(text: string, huffman: boolean): number {
  const length = huffman
    ? Math.min(text.length, huffmanEncodedLengthOfByteString(text))
    : text.length;
  return INTEGER_BYTES_MAX + length;
}

/**
 * Writes a string literal (RFC 7541 §5.2): Huffman-coded when that is shorter and `huffman`.
 * Chars above 0xff throw TypeError (field values are ByteStrings).
 */
function writeString(out: Uint8Array, at: number, text: string, huffman: boolean): number {
  const coded = huffman ? huffmanEncodedLengthOfByteString(text) : text.length + 1;
  if (coded < text.length) {
    at = writeInteger(out, at, coded, 7, 0x80);
    return huffmanEncodeByteStringInto(text, out, at);
  }
  at = writeInteger(out, at, text.length, 7, 0);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new TypeError(`Cannot encode field: char ${code} at ${i} is not a byte`);
    out[at++] = code;
  }
  return at;
}

/** Options of {@link encodeFieldBlock}. */
export interface EncodeFieldBlockOptions {
  /** Insert fields not found into this table (literal with incremental indexing) and refer to it. */
  readonly table?: DynamicTable;
  /** Use Huffman coding when it is shorter (default true). */
  readonly huffman?: boolean;
  /** Start with a dynamic table size update to this size. */
  readonly sizeUpdateBytes?: number;
}

/**
 * One header block for `fields` in order: indexed when the static table (or `table`) has the
 * field, else a literal with the name's index when there is one. Without `table` literals are
 * "without indexing", so the block is stateless.
 *
 * @example
 * ```ts
 * encodeFieldBlock([[":method", "GET"], [":scheme", "http"], [":path", "/"]]); // 82 86 84
 * ```
 */
export function encodeFieldBlock(
  fields: readonly HpackField[],
  options: EncodeFieldBlockOptions = {},
): Uint8Array {
  const huffman = options.huffman ?? true;
  let capacity = INTEGER_BYTES_MAX;
  for (const [name, value] of fields) {
    capacity += INTEGER_BYTES_MAX + stringBytes(name, huffman) + stringBytes(value, huffman);
  }
  const out = new Uint8Array(capacity);
  let at = 0;
  if (options.sizeUpdateBytes !== undefined) {
    at = writeInteger(out, at, options.sizeUpdateBytes, 5, 0x20);
  }
  for (const [name, value] of fields) at = writeField(out, at, name, value, options.table, huffman);
  return out.slice(0, at);
}

function writeField(
  out: Uint8Array,
  at: number,
  name: string,
  value: string,
  table: DynamicTable | undefined,
  huffman: boolean,
): number {
  const exact = hpackStaticExact(name, value) ||
    (table ? dynamicIndex(table.findExact(name, value)) : 0);
  if (exact !== 0) return writeInteger(out, at, exact, 7, 0x80);
  const nameIndex = hpackStaticName(name);
  if (table) {
    at = writeInteger(out, at, nameIndex, 6, 0x40);
    if (nameIndex === 0) at = writeString(out, at, name, huffman);
    table.insert(name, value);
  } else {
    at = writeInteger(out, at, nameIndex, 4, 0x00);
    if (nameIndex === 0) at = writeString(out, at, name, huffman);
  }
  return writeString(out, at, value, huffman);
}

function dynamicIndex(index: number): number {
  return index === 0 ? 0 : HPACK_STATIC_COUNT + index;
}

/** Field names a response must not carry in HTTP/2 (RFC 9113 §8.2.2); they are dropped. */
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** Response blocks longer than this are encoded each time, not cached. */
const CACHED_BLOCK_BYTES_MAX = 512;
/** Keys longer than this (long field values) are not cached. */
const CACHED_KEY_CHARS_MAX = 1024;
/** Bounds one connection's response-block cache: at most 16 * (512 + 1024) bytes. */
const CACHE_ENTRY_COUNT_MAX = 16;
/** The reused output of `encode`; a larger head gets an array of its own. */
const SCRATCH_BYTES = 1024;
/** The size update announcing an empty dynamic table (RFC 7541 §6.3). */
const SIZE_UPDATE_ZERO = 0x20;
/** Room for the content-length literal: name index (2 bytes), length (1), up to 16 digits. */
const CONTENT_LENGTH_LITERAL_BYTES_MAX = 19;

/**
 * The response-head encoder of one connection.
 *
 * @example
 * ```ts
 * const encoder = new ResponseHeadEncoder();
 * const block = encoder.encode(200, [["content-type", "text/plain"]]); // valid until the next call
 * ```
 */
export class ResponseHeadEncoder {
  readonly #cache = new Map<string, Uint8Array>();
  readonly #scratch = new Uint8Array(SCRATCH_BYTES);
  #sizeUpdatePending = true;

  /** Cached blocks now (tests; bounded by 16). */
  get cachedCount(): number {
    return this.#cache.size;
  }

  /** Bytes the cache and the scratch hold (the engine's memory accounting). */
  get cachedBytes(): number {
    let bytes = SCRATCH_BYTES;
    for (const [key, block] of this.#cache) bytes += key.length + block.length;
    return bytes;
  }

  /** The peer changed SETTINGS_HEADER_TABLE_SIZE: announce our empty table again. */
  peerTableSizeChanged(): void {
    this.#sizeUpdatePending = true;
  }

  /**
   * The header block for a response; a view valid until the next call. Throws TypeError for a
   * status outside 100..999, a pseudo-header or invalid name, or a value with NUL, CR or LF.
   */
  encode(status: number, fields: readonly HpackField[]): Uint8Array {
    // Length-prefixed parts keep the key unambiguous whatever the strings hold.
    let key = String(status);
    let contentLength: string | null = null;
    for (let i = 0; i < fields.length; i++) {
      const [name, value] = fields[i];
      if (name.length === 14 && name.toLowerCase() === "content-length") contentLength = value;
      else key += `\n${name.length}:${name}${value.length}:${value}`;
    }
    let block = this.#cache.get(key);
    if (block === undefined) {
      block = encodeResponseBlock(status, fields);
      if (block.length <= CACHED_BLOCK_BYTES_MAX && key.length <= CACHED_KEY_CHARS_MAX) {
        if (this.#cache.size >= CACHE_ENTRY_COUNT_MAX) this.#cache.clear();
        this.#cache.set(key, block);
      }
    }
    return this.#assemble(block, contentLength);
  }

  #assemble(block: Uint8Array, contentLength: string | null): Uint8Array {
    const needed = 1 + block.length + CONTENT_LENGTH_LITERAL_BYTES_MAX;
    const out = needed <= SCRATCH_BYTES ? this.#scratch : new Uint8Array(needed);
    let at = 0;
    if (this.#sizeUpdatePending) {
      out[at++] = SIZE_UPDATE_ZERO;
      this.#sizeUpdatePending = false;
    }
    out.set(block, at);
    at += block.length;
    if (contentLength !== null) {
      if (!/^[0-9]{1,16}$/.test(contentLength)) {
        throw new TypeError(
          `Cannot encode response: content-length ${contentLength} is not digits`,
        );
      }
      at = writeInteger(out, at, HPACK_STATIC_CONTENT_LENGTH, 4, 0x00);
      at = writeString(out, at, contentLength, false);
    }
    return out.subarray(0, at);
  }
}

/** The block of a response without its content-length, validating every field. */
function encodeResponseBlock(status: number, fields: readonly HpackField[]): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(`Cannot encode response: status ${status} is not 100..999`);
  }
  const kept: [string, string][] = [[":status", String(status)]];
  for (const [rawName, value] of fields) {
    const name = checkResponseName(rawName);
    if (name === "content-length" || CONNECTION_SPECIFIC.has(name)) continue;
    if (hasNulCrLf(value)) {
      throw new TypeError(`Cannot encode response: field ${name} has NUL, CR or LF in its value`);
    }
    kept.push([name, value]);
  }
  return encodeFieldBlock(kept);
}

function hasNulCrLf(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d) return true;
  }
  return false;
}

/** Lower-cases a field name and checks it is a token (RFC 9110 §5.1). */
function checkResponseName(name: string): string {
  const lower = name.toLowerCase();
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(lower)) {
    throw new TypeError(
      `Cannot encode response: field name ${JSON.stringify(name)} is not a token`,
    );
  }
  return lower;
}
