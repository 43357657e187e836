/**
 * The HPACK decoder (RFC 7541): every field representation of §6, prefixed integers (§5.1),
 * string literals with Huffman coding (§5.2, the shared `http_common/huffman.ts`) and dynamic
 * table size updates (§6.3), against the static table and one connection's dynamic table.
 *
 * Bounds, each answering an attack:
 * - A size update above our SETTINGS_HEADER_TABLE_SIZE, or anywhere but at the start of a
 *   block, is a COMPRESSION_ERROR (§4.2) — the table can never grow past what we advertised.
 * - The decoded header list (name + value + 32 per field, RFC 9113 §6.5.2) is capped at our
 *   SETTINGS_MAX_HEADER_LIST_SIZE. Past the cap the decoder stops handing out fields (the
 *   "HPACK bomb": one byte can name a 4 KiB table entry) but finishes the block, because the
 *   dynamic table must stay in step with the peer's encoder; `tooLarge` reports it.
 * - Integers longer than 5 continuation bytes or above 2^32 - 1, strings longer than what is
 *   left of the block, and invalid Huffman codes are COMPRESSION_ERRORs. Every loop consumes at
 *   least one input byte, so decoding is linear in the block.
 *
 * The decoder hands fields to a {@link FieldSink} and never throws from it mid-block: a sink
 * records what is wrong (a malformed request is a stream error, decided after the block, with
 * the table intact).
 *
 * @example
 * ```ts
 * import { HpackDecoder } from "./hpack.ts";
 * const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 16384 });
 * const fields: [string, string][] = [];
 * const block = new Uint8Array([0x82, 0x86, 0x84]);
 * decoder.decode(block, 0, block.length, { onField: (n, v) => fields.push([n, v]) });
 * // fields: [[":method", "GET"], [":scheme", "http"], [":path", "/"]]
 * ```
 * @module
 */

import { huffmanDecodedLengthMax, huffmanDecodeInto } from "../http_common/huffman.ts";
import { H2Error } from "./errors.ts";
import { DynamicTable, HPACK_ENTRY_OVERHEAD_BYTES } from "./hpack_dynamic.ts";
import { HPACK_STATIC_COUNT, HPACK_STATIC_TABLE } from "./hpack_static.ts";

/** Receives the decoded fields of one block, in order. Must not throw. */
export interface FieldSink {
  onField(name: string, value: string): void;
}

/** Options of {@link HpackDecoder}. */
export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most the peer's size updates may set. */
  readonly tableBytes: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size past which fields are dropped. */
  readonly headerListBytesMax: number;
}

/** Integers above this are treated as overflow: no HPACK quantity here comes near it. */
const INTEGER_MAX = 2 ** 32 - 1;
/** Continuation bytes of one prefixed integer (5 carry 35 bits, more than INTEGER_MAX). */
const INTEGER_CONTINUATION_BYTES_MAX = 5;
/** The initial table size a peer's encoder assumes before our SETTINGS (RFC 7541 §4.2). */
const DEFAULT_TABLE_BYTES = 4096;

/** Latin-1 ByteString of `bytes[start, end)` (one char per octet, as `Headers` takes). */
export function latin1String(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 16) {
    let out = "";
    for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]);
    return out;
  }
  let out = "";
  for (let i = start; i < end; i += 4096) {
    const chunk = bytes.subarray(i, Math.min(end, i + 4096));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}

/** One Huffman output buffer for every decoder: decoding is synchronous, so none overlap. */
let huffmanScratch = new Uint8Array(1024);

function scratchFor(encodedLength: number): Uint8Array {
  const needed = huffmanDecodedLengthMax(encodedLength);
  if (huffmanScratch.length < needed) huffmanScratch = new Uint8Array(needed);
  return huffmanScratch;
}

function compressionError(message: string): H2Error {
  return new H2Error("COMPRESSION_ERROR", message);
}

/**
 * One connection's HPACK decoder (RFC 7541), owning its dynamic table.
 *
 * @example
 * ```ts
 * const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 16384 });
 * decoder.decode(block, 0, block.length, sink);
 * if (decoder.tooLarge) console.log("431");
 * ```
 */
export class HpackDecoder {
  readonly table: DynamicTable;
  readonly headerListBytesMax: number;
  /** Decoded size of the last block (RFC 9113 §6.5.2), counting dropped fields too. */
  headerListBytes = 0;
  /** The last block's header list passed `headerListBytesMax` (fields past it were dropped). */
  tooLarge = false;
  /** The last block referred to a dynamic-table entry. */
  usedDynamic = false;
  readonly #ourTableBytes: number;
  /** The most a size update may set now: our setting, or 4096 until the peer saw it. */
  #sizeUpdateMaxBytes: number;
  #sizeUpdateRequired = false;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;

  constructor(options: HpackDecoderOptions) {
    // Until the peer acknowledges our SETTINGS its encoder may assume the default 4096.
    this.table = new DynamicTable(Math.max(options.tableBytes, DEFAULT_TABLE_BYTES));
    this.#sizeUpdateMaxBytes = this.table.limitBytes;
    this.headerListBytesMax = options.headerListBytesMax;
    this.#ourTableBytes = options.tableBytes;
  }

  /** The next block must start with a table size update (a cached block cannot stand for it). */
  get sizeUpdateRequired(): boolean {
    return this.#sizeUpdateRequired;
  }

  /**
   * The peer acknowledged our SETTINGS: from now on size updates are bounded by our value, and
   * when the table's maximum is above it the next block must start with a size update.
   */
  settingsAcknowledged(): void {
    this.#sizeUpdateMaxBytes = this.#ourTableBytes;
    if (this.table.maxSizeBytes > this.#ourTableBytes) this.#sizeUpdateRequired = true;
  }

  /**
   * Decodes the header block `buf[start, end)`, handing each field to `sink` (until the list
   * passes its cap). Throws H2Error COMPRESSION_ERROR on malformed input (a connection error:
   * the table can no longer be trusted).
   */
  decode(buf: Uint8Array, start: number, end: number, sink: FieldSink): void {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
    this.headerListBytes = 0;
    this.tooLarge = false;
    this.usedDynamic = false;
    if (this.#sizeUpdateRequired && (start === end || (buf[start] & 0xe0) !== 0x20)) {
      throw compressionError("the block does not start with the required table size update");
    }
    let fieldSeen = false;
    // Each pass consumes at least one byte: bounded by the block length.
    while (this.#pos < this.#end) {
      const byte = buf[this.#pos];
      if (byte & 0x80) {
        this.#indexed(sink);
      } else if (byte & 0x40) {
        this.#literal(6, true, sink);
      } else if (byte & 0x20) {
        if (fieldSeen) throw compressionError("table size update after a field");
        this.#sizeUpdate();
        continue;
      } else {
        this.#literal(4, false, sink);
      }
      fieldSeen = true;
    }
    this.#buf = EMPTY;
  }

  #indexed(sink: FieldSink): void {
    const index = this.#integer(7);
    if (index === 0) throw compressionError("indexed field 0");
    if (index <= HPACK_STATIC_COUNT) {
      const [name, value] = HPACK_STATIC_TABLE[index];
      return this.#emit(name, value, sink);
    }
    const dynamic = index - HPACK_STATIC_COUNT;
    if (dynamic > this.table.count) throw compressionError(`index ${index} is not in the table`);
    this.usedDynamic = true;
    this.#emit(this.table.name(dynamic), this.table.value(dynamic), sink);
  }

  #literal(prefixBits: number, indexing: boolean, sink: FieldSink): void {
    const nameIndex = this.#integer(prefixBits);
    let name: string;
    if (nameIndex === 0) {
      name = this.#string(indexing);
    } else if (nameIndex <= HPACK_STATIC_COUNT) {
      name = HPACK_STATIC_TABLE[nameIndex][0];
    } else {
      const dynamic = nameIndex - HPACK_STATIC_COUNT;
      if (dynamic > this.table.count) {
        throw compressionError(`name index ${nameIndex} is not in the table`);
      }
      this.usedDynamic = true;
      name = this.table.name(dynamic);
    }
    const value = this.#string(indexing);
    if (indexing) this.table.insert(name, value);
    this.#emit(name, value, sink);
  }

  #sizeUpdate(): void {
    const bytes = this.#integer(5);
    if (bytes > this.#sizeUpdateMaxBytes) {
      throw compressionError(`table size update ${bytes} exceeds ${this.#sizeUpdateMaxBytes}`);
    }
    this.table.setMaxSize(bytes);
    if (bytes <= this.#ourTableBytes) this.#sizeUpdateRequired = false;
  }

  #emit(name: string, value: string, sink: FieldSink): void {
    this.headerListBytes += name.length + value.length + HPACK_ENTRY_OVERHEAD_BYTES;
    if (this.headerListBytes > this.headerListBytesMax) this.tooLarge = true;
    if (!this.tooLarge) sink.onField(name, value);
  }

  /** A prefixed integer (RFC 7541 §5.1) starting at the current byte. */
  #integer(prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = this.#buf[this.#pos++] & mask;
    if (value < mask) return value;
    let scale = 1;
    for (let i = 0; i < INTEGER_CONTINUATION_BYTES_MAX; i++) {
      if (this.#pos >= this.#end) throw compressionError("truncated integer");
      const byte = this.#buf[this.#pos++];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        if (value > INTEGER_MAX) throw compressionError(`integer ${value} overflows`);
        return value;
      }
    }
    throw compressionError("integer longer than 5 continuation bytes");
  }

  /**
   * A string literal (RFC 7541 §5.2). Past the list cap a string of a field that does not enter
   * the table is checked but never turned into a string (returned empty).
   */
  #string(indexing: boolean): string {
    if (this.#pos >= this.#end) throw compressionError("truncated string");
    const huffman = (this.#buf[this.#pos] & 0x80) !== 0;
    const length = this.#integer(7);
    const start = this.#pos;
    if (length > this.#end - start) {
      throw compressionError(`string length ${length} exceeds the block's ${this.#end - start}`);
    }
    this.#pos += length;
    const skip = this.tooLarge && !indexing;
    if (!huffman) return skip ? "" : latin1String(this.#buf, start, start + length);
    const out = scratchFor(length);
    const decodedLength = huffmanDecodeInto(this.#buf, start, start + length, out);
    if (decodedLength < 0) throw compressionError("invalid Huffman code");
    return skip ? "" : latin1String(out, 0, decodedLength);
  }
}

const EMPTY = new Uint8Array(0);
