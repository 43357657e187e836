/**
 * QPACK field sections (RFC 9204 §4.5): decode every field line representation against the
 * static table and an optional dynamic table, and encode responses with the static table and
 * literals only (Required Insert Count 0, so a peer's decoder never blocks on us).
 *
 * Also holds the QPACK primitives shared with `qpack_dynamic.ts`: prefixed integers (RFC 7541
 * §5.1) and string literals with the H bit (RFC 7541 §5.2).
 *
 * Field names and values are ByteStrings: one JavaScript char per octet (Latin-1), which is what
 * `Headers` accepts and what `Deno.serve` hands out for non-ASCII header bytes.
 *
 * The decoder enforces a field-section size limit (RFC 9114 §4.2.2: name + value + 32 per line)
 * while it decodes, and throws {@link FieldSectionTooLargeError} as soon as the sum passes it.
 * Every other malformed input throws {@link H3Error} QPACK_DECOMPRESSION_FAILED.
 *
 * Use {@link QpackDecoder} (qpack_dynamic.ts) on a connection: it owns the dynamic table and
 * handles blocked streams; `decodeFieldSection` here is the stateless core.
 *
 * @example
 * ```ts
 * import { decodeFieldSection, encodeFieldSection } from "./qpack.ts";
 * const bytes = encodeFieldSection([[":status", "200"], ["content-type", "application/capnp"]]);
 * decodeFieldSection(bytes).fields; // [[":status", "200"], ["content-type", "application/capnp"]]
 * ```
 * @module
 */

import { H3Error } from "./errors.ts";
import {
  huffmanDecode,
  huffmanEncodeByteStringInto,
  huffmanEncodedLengthOfByteString,
} from "../http_common/huffman.ts";
import { type FieldLine, QPACK_STATIC_TABLE, staticTableLookup } from "./qpack_static.ts";

export type { FieldLine } from "./qpack_static.ts";

/** Per-line overhead counted by the field-section size limit (RFC 9114 §4.2.2). */
export const FIELD_LINE_OVERHEAD_BYTES = 32;

/** Default decoded field-section limit when the caller gives none. */
export const FIELD_SECTION_BYTES_MAX_DEFAULT = 65536;

/** Integers above this are treated as overflow: no QPACK quantity here comes near it. */
const PREFIX_INT_MAX = 2 ** 32 - 1;

/** A decoded field section exceeded the size limit; the stream (not the connection) fails. */
export class FieldSectionTooLargeError extends H3Error {
  constructor(sizeBytes: number, limitBytes: number) {
    super("H3_EXCESSIVE_LOAD", `field section size ${sizeBytes} exceeds ${limitBytes}`, {
      scope: "stream",
    });
    this.name = "FieldSectionTooLargeError";
  }
}

/** The read-only view of a dynamic table that field-section decoding needs. */
export interface DynamicTableView {
  /** Total number of inserts so far (the next entry's absolute index). */
  readonly insertCount: number;
  /** Our SETTINGS_QPACK_MAX_TABLE_CAPACITY: decides MaxEntries for Required Insert Count. */
  readonly maxTableCapacity: number;
  /** The entry with this absolute index, or undefined when evicted or not inserted yet. */
  entry(absoluteIndex: number): FieldLine | undefined;
}

// ---------------------------------------------------------------------------------------------
// Primitives

/** Octets to a ByteString. Chunked so a long string never exceeds the argument limit. */
export function bytesToByteString(bytes: Uint8Array): string {
  if (bytes.length <= 32) {
    // Short strings (most header names and values): a plain loop beats building an argument list.
    let out = "";
    for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]);
    return out;
  }
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return out;
}

/** A ByteString to octets; TypeError for a char above 0xFF (not a valid header string). */
export function byteStringToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new TypeError(`Cannot encode field: char ${code} at ${i} is not a byte`);
    }
    out[i] = code;
  }
  return out;
}

/**
 * Reads a prefixed integer whose prefix is the low `prefixBits` bits of `bytes[offset]`.
 * `undefined` when truncated; `value` is Infinity when it exceeds 2^32-1.
 *
 * @example
 * ```ts
 * readPrefixInt(new Uint8Array([0x1f, 0x9a, 0x0a]), 0, 5); // { value: 1337, next: 3 }
 * ```
 */
export function readPrefixInt(
  bytes: Uint8Array,
  offset: number,
  prefixBits: number,
): { value: number; next: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const prefixMax = (1 << prefixBits) - 1;
  let value = bytes[offset] & prefixMax;
  let next = offset + 1;
  if (value < prefixMax) return { value, next };
  // Continuation bytes: 7 bits each; more than 5 would exceed 32 bits.
  for (let shift = 0; shift <= 35; shift += 7) {
    if (next >= bytes.length) return undefined;
    const byte = bytes[next++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value: value > PREFIX_INT_MAX ? Infinity : value, next };
  }
  return { value: Infinity, next };
}

/**
 * Reads a string literal: H bit just above a `prefixBits` length prefix, then the octets.
 * `undefined` when truncated. Throws H3Error `errorCode` for an invalid Huffman string or a
 * length above `lengthBytesMax` (checked before the octets are awaited or read).
 */
export function readStringLiteral(
  bytes: Uint8Array,
  offset: number,
  options: { prefixBits: number; lengthBytesMax: number; errorCode: H3Error["codeName"] },
): { text: string; next: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const huffman = (bytes[offset] & (1 << options.prefixBits)) !== 0;
  const length = readPrefixInt(bytes, offset, options.prefixBits);
  if (length === undefined) return undefined;
  if (length.value > options.lengthBytesMax) {
    throw new H3Error(
      options.errorCode,
      `string length ${length.value} exceeds ${options.lengthBytesMax}`,
    );
  }
  const end = length.next + length.value;
  if (end > bytes.length) return undefined;
  const raw = bytes.subarray(length.next, end);
  if (!huffman) return { text: bytesToByteString(raw), next: end };
  const decoded = huffmanDecode(raw);
  if (decoded === undefined) throw new H3Error(options.errorCode, "invalid Huffman string");
  return { text: bytesToByteString(decoded), next: end };
}

/** A growable byte buffer for encoders. */
export class ByteWriter {
  #bytes = new Uint8Array(64);
  #length = 0;

  /** Bytes written so far (a view; copy if the writer is reused). */
  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  #reserve(count: number): void {
    if (this.#length + count <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + count));
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  /** Appends octets. */
  append(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Appends a prefixed integer; `flags` holds the bits above the prefix in the first byte. */
  prefixInt(flags: number, prefixBits: number, value: number): void {
    // Encoding allows any safe integer (stream IDs can pass 2^32); decoding caps at 2^32-1.
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`Cannot encode prefixed integer: ${value} is outside 0..2^53-1`);
    }
    this.#reserve(10);
    const prefixMax = (1 << prefixBits) - 1;
    if (value < prefixMax) {
      this.#bytes[this.#length++] = flags | value;
      return;
    }
    this.#bytes[this.#length++] = flags | prefixMax;
    let rest = value - prefixMax;
    while (rest >= 0x80) {
      this.#bytes[this.#length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.#bytes[this.#length++] = rest;
  }

  /** Appends a string literal (a ByteString), Huffman-coded when that is shorter. */
  stringLiteral(flags: number, prefixBits: number, text: string): void {
    const huffmanLength = huffmanEncodedLengthOfByteString(text);
    if (huffmanLength < text.length) {
      this.prefixInt(flags | (1 << prefixBits), prefixBits, huffmanLength);
      this.#reserve(huffmanLength);
      this.#length = huffmanEncodeByteStringInto(text, this.#bytes, this.#length);
    } else {
      this.prefixInt(flags, prefixBits, text.length);
      this.#reserve(text.length);
      for (let i = 0; i < text.length; i++) this.#bytes[this.#length++] = text.charCodeAt(i);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Field section prefix

/** The decoded prefix of a field section. */
export interface FieldSectionPrefix {
  requiredInsertCount: number;
  base: number;
  /** Offset of the first field line. */
  next: number;
}

function fail(message: string): never {
  throw new H3Error("QPACK_DECOMPRESSION_FAILED", message);
}

/**
 * Decodes the encoded field section prefix (RFC 9204 §4.5.1): Required Insert Count (§4.5.1.1)
 * and Base. `totalInsertCount` is the decoder's insert count now.
 *
 * @example
 * ```ts
 * readFieldSectionPrefix(new Uint8Array([0x03, 0x81]), { maxTableCapacity: 220, totalInsertCount: 2 });
 * // { requiredInsertCount: 2, base: 0, next: 2 }
 * ```
 */
export function readFieldSectionPrefix(
  bytes: Uint8Array,
  options: { maxTableCapacity: number; totalInsertCount: number },
): FieldSectionPrefix {
  const encoded = readPrefixInt(bytes, 0, 8) ?? fail("field section prefix is truncated");
  const delta = readPrefixInt(bytes, encoded.next, 7) ?? fail("field section prefix is truncated");
  const requiredInsertCount = decodeRequiredInsertCount(encoded.value, options);
  const sign = (bytes[encoded.next] & 0x80) !== 0;
  if (!Number.isFinite(delta.value)) fail("Delta Base overflows");
  const base = sign ? requiredInsertCount - delta.value - 1 : requiredInsertCount + delta.value;
  if (base < 0) fail(`negative Base ${base}`);
  return { requiredInsertCount, base, next: delta.next };
}

function decodeRequiredInsertCount(
  encoded: number,
  options: { maxTableCapacity: number; totalInsertCount: number },
): number {
  if (encoded === 0) return 0;
  const maxEntries = Math.floor(options.maxTableCapacity / 32);
  const fullRange = 2 * maxEntries;
  if (encoded > fullRange) fail(`Encoded Required Insert Count ${encoded} exceeds ${fullRange}`);
  const maxValue = options.totalInsertCount + maxEntries;
  const maxWrapped = Math.floor(maxValue / fullRange) * fullRange;
  let required = maxWrapped + encoded - 1;
  if (required > maxValue) {
    if (required <= fullRange) fail(`Required Insert Count ${required} is invalid`);
    required -= fullRange;
  }
  if (required === 0) fail("Required Insert Count decodes to 0");
  return required;
}

/**
 * Encodes a field section prefix (for tests and clients that use a dynamic table).
 *
 * @example
 * ```ts
 * encodeFieldSectionPrefix({ requiredInsertCount: 0, base: 0, maxTableCapacity: 0 }); // [0, 0]
 * ```
 */
export function encodeFieldSectionPrefix(
  options: { requiredInsertCount: number; base: number; maxTableCapacity: number },
): Uint8Array {
  const writer = new ByteWriter();
  const { requiredInsertCount, base } = options;
  const maxEntries = Math.floor(options.maxTableCapacity / 32);
  const encoded = requiredInsertCount === 0 ? 0 : (requiredInsertCount % (2 * maxEntries)) + 1;
  writer.prefixInt(0, 8, encoded);
  if (base >= requiredInsertCount) writer.prefixInt(0, 7, base - requiredInsertCount);
  else writer.prefixInt(0x80, 7, requiredInsertCount - base - 1);
  return writer.bytes.slice();
}

// ---------------------------------------------------------------------------------------------
// Field lines

/** Options of {@link decodeFieldSection}. */
export interface DecodeFieldSectionOptions {
  /** The connection's dynamic table; without it only static references and literals decode. */
  table?: DynamicTableView;
  /** Decoded size limit (name + value + 32 per line); default 65536. */
  fieldSectionBytesMax?: number;
}

/** A decoded field section. */
export interface DecodedFieldSection {
  fields: FieldLine[];
  /** Non-zero means the decoder must send a Section Acknowledgment. */
  requiredInsertCount: number;
}

const NO_TABLE: DynamicTableView = {
  insertCount: 0,
  maxTableCapacity: 0,
  entry: () => undefined,
};

/**
 * Decodes one whole encoded field section (a HEADERS frame payload). Throws H3Error
 * QPACK_DECOMPRESSION_FAILED on malformed input, also when it needs dynamic entries the table
 * does not have yet (use `QpackDecoder` to wait for them instead), and
 * {@link FieldSectionTooLargeError} past the size limit.
 *
 * @example
 * ```ts
 * // RFC 9204 B.1: a literal with static name reference :path=/index.html
 * const bytes = new Uint8Array([0, 0, 0x51, 0x0b, ...new TextEncoder().encode("/index.html")]);
 * decodeFieldSection(bytes).fields; // [[":path", "/index.html"]]
 * ```
 */
export function decodeFieldSection(
  bytes: Uint8Array,
  options: DecodeFieldSectionOptions = {},
): DecodedFieldSection {
  const table = options.table ?? NO_TABLE;
  const sizeMax = options.fieldSectionBytesMax ?? FIELD_SECTION_BYTES_MAX_DEFAULT;
  const prefix = readFieldSectionPrefix(bytes, {
    maxTableCapacity: table.maxTableCapacity,
    totalInsertCount: table.insertCount,
  });
  if (prefix.requiredInsertCount > table.insertCount) {
    fail(`needs ${prefix.requiredInsertCount} inserts, table has ${table.insertCount}`);
  }
  const fields: FieldLine[] = [];
  let size = 0;
  let offset = prefix.next;
  // Each line consumes at least one byte, so the loop is bounded by the input length.
  while (offset < bytes.length) {
    const line = readFieldLine(bytes, offset, { table, prefix, budget: sizeMax - size });
    size += line.field[0].length + line.field[1].length + FIELD_LINE_OVERHEAD_BYTES;
    if (size > sizeMax) throw new FieldSectionTooLargeError(size, sizeMax);
    fields.push(line.field);
    offset = line.next;
  }
  return { fields, requiredInsertCount: prefix.requiredInsertCount };
}

interface LineContext {
  table: DynamicTableView;
  prefix: FieldSectionPrefix;
  /** Bytes left under the size limit: a literal longer than this cannot fit. */
  budget: number;
}

function readFieldLine(
  bytes: Uint8Array,
  offset: number,
  context: LineContext,
): { field: FieldLine; next: number } {
  const first = bytes[offset];
  if (first & 0x80) {
    // Indexed field line: 1 T index(6).
    const index = readPrefixInt(bytes, offset, 6) ?? fail("indexed field line is truncated");
    const field = first & 0x40
      ? staticEntry(index.value)
      : dynamicEntry(context, context.prefix.base - 1 - index.value);
    return { field, next: index.next };
  }
  if (first & 0x40) {
    // Literal with name reference: 0 1 N T index(4), then the value.
    const index = readPrefixInt(bytes, offset, 4) ?? fail("name reference is truncated");
    const name = first & 0x10
      ? staticEntry(index.value)[0]
      : dynamicEntry(context, context.prefix.base - 1 - index.value)[0];
    return readValue(bytes, index.next, name, context);
  }
  if (first & 0x20) {
    // Literal with literal name: 0 0 1 N H length(3), name, then the value.
    const name = readLiteral(bytes, offset, 3, context);
    return readValue(bytes, name.next, name.text, context);
  }
  if (first & 0x10) {
    // Indexed field line with post-base index: 0 0 0 1 index(4).
    const index = readPrefixInt(bytes, offset, 4) ?? fail("post-base index is truncated");
    return { field: dynamicEntry(context, context.prefix.base + index.value), next: index.next };
  }
  // Literal with post-base name reference: 0 0 0 0 N index(3), then the value.
  const index = readPrefixInt(bytes, offset, 3) ?? fail("post-base name reference is truncated");
  const name = dynamicEntry(context, context.prefix.base + index.value)[0];
  return readValue(bytes, index.next, name, context);
}

function readValue(
  bytes: Uint8Array,
  offset: number,
  name: string,
  context: LineContext,
): { field: FieldLine; next: number } {
  const value = readLiteral(bytes, offset, 7, context);
  return { field: [name, value.text], next: value.next };
}

function readLiteral(
  bytes: Uint8Array,
  offset: number,
  prefixBits: number,
  context: LineContext,
): { text: string; next: number } {
  const literal = readStringLiteral(bytes, offset, {
    prefixBits,
    // The raw length is bounded by the input; the decoded size is checked by the caller.
    lengthBytesMax: bytes.length,
    errorCode: "QPACK_DECOMPRESSION_FAILED",
  }) ?? fail("string literal is truncated");
  if (literal.text.length > context.budget) {
    throw new FieldSectionTooLargeError(literal.text.length, context.budget);
  }
  return literal;
}

function staticEntry(index: number): FieldLine {
  return QPACK_STATIC_TABLE[index] ?? fail(`static index ${index} is not in the table`);
}

function dynamicEntry(context: LineContext, absoluteIndex: number): FieldLine {
  if (absoluteIndex < 0 || absoluteIndex >= context.prefix.requiredInsertCount) {
    fail(`dynamic index ${absoluteIndex} is outside 0..${context.prefix.requiredInsertCount - 1}`);
  }
  return context.table.entry(absoluteIndex) ?? fail(`dynamic entry ${absoluteIndex} is evicted`);
}

// ---------------------------------------------------------------------------------------------
// Encoder

/**
 * Encodes a field section with the static table and literals only (Required Insert Count 0):
 * exact static matches as indexed lines, static name matches as literals with name reference,
 * the rest as literals with literal names; strings are Huffman-coded when shorter. Names must be
 * lowercase already (HTTP/3 requires it; `Headers` lowercases).
 *
 * @example
 * ```ts
 * encodeFieldSection([[":status", "200"]]); // Uint8Array [0x00, 0x00, 0xd9]
 * ```
 */
export function encodeFieldSection(fields: Iterable<readonly [string, string]>): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0, 8, 0);
  writer.prefixInt(0, 7, 0);
  for (const [name, value] of fields) {
    const cacheable = name.length + value.length <= LINE_CACHE_STRING_BYTES_MAX;
    const key = cacheable ? `${name}\u0000${value}` : "";
    const cached = cacheable ? lineCache.get(key) : undefined;
    if (cached !== undefined) {
      writer.append(cached);
      continue;
    }
    const line = encodeFieldLine(name, value);
    if (cacheable) {
      // Clearing when full keeps the cache bounded without LRU bookkeeping; responses repeat
      // the same few lines, so it refills at once.
      if (lineCache.size >= LINE_CACHE_ENTRY_COUNT_MAX) lineCache.clear();
      lineCache.set(key, line);
    }
    writer.append(line);
  }
  return writer.bytes.slice();
}

/** Lines longer than this are encoded every time rather than cached. */
const LINE_CACHE_STRING_BYTES_MAX = 256;
/** Bounds the encoder's line cache (at most ~300 KB). */
const LINE_CACHE_ENTRY_COUNT_MAX = 1024;
const lineCache = new Map<string, Uint8Array>();

function encodeFieldLine(name: string, value: string): Uint8Array {
  const writer = new ByteWriter();
  const match = staticTableLookup(name, value);
  if (match?.valueMatches) {
    writer.prefixInt(0xc0, 6, match.index);
  } else if (match !== undefined) {
    writer.prefixInt(0x50, 4, match.index);
    writer.stringLiteral(0, 7, value);
  } else {
    writer.stringLiteral(0x20, 3, name);
    writer.stringLiteral(0, 7, value);
  }
  return writer.bytes.slice();
}
