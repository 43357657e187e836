/**
 * The decoder side of the QPACK dynamic table (RFC 9204 §3.2, §4.3, §4.4, §2.1.2): the table,
 * the peer's encoder-stream instructions, the decoder-stream instructions we send back, and
 * blocked streams. {@link QpackDecoder} is the one object a connection needs.
 *
 * How the transport uses it, per connection:
 * - Create it with the values sent in our SETTINGS (QPACK_MAX_TABLE_CAPACITY,
 *   QPACK_BLOCKED_STREAMS) and a callback that writes bytes to our QPACK decoder stream.
 * - Bytes from the peer's encoder stream (after its stream type byte) go to
 *   {@link QpackDecoder.receiveEncoderStream}; it throws H3Error QPACK_ENCODER_STREAM_ERROR.
 * - Each HEADERS payload goes to {@link QpackDecoder.decodeOrBlock}: it returns `{ fields }` at
 *   once, or `{ blocked }`, a promise that settles when the inserts it needs arrive (it rejects
 *   with H3Error: QPACK_DECOMPRESSION_FAILED is a connection error, a
 *   `FieldSectionTooLargeError` a stream error). Too many blocked streams throws
 *   QPACK_DECOMPRESSION_FAILED at once.
 * - A request stream reset or abandoned before its headers decoded:
 *   {@link QpackDecoder.cancelStream}. Connection end: {@link QpackDecoder.close}.
 * - Bytes from the peer's decoder stream go to a {@link DecoderStreamReader}.
 *
 * @example
 * ```ts
 * import { QpackDecoder, encodeInsertWithLiteralName, encodeSetCapacity } from "./qpack_dynamic.ts";
 * const sent: Uint8Array[] = [];
 * const decoder = new QpackDecoder({
 *   maxTableCapacity: 4096,
 *   blockedStreamsMax: 16,
 *   onDecoderStreamBytes: (bytes) => sent.push(bytes),
 * });
 * // A section that needs insert #1 (Required Insert Count 1, Base 1, relative index 0):
 * const outcome = decoder.decodeOrBlock(0, new Uint8Array([0x02, 0x00, 0x80]));
 * decoder.receiveEncoderStream(encodeSetCapacity(4096));
 * decoder.receiveEncoderStream(encodeInsertWithLiteralName("x-id", "7"));
 * await outcome.blocked; // [["x-id", "7"]]; `sent` now holds a Section Acknowledgment
 * ```
 * @module
 */

import { H3Error } from "./errors.ts";
import {
  ByteWriter,
  decodeFieldSection,
  type DynamicTableView,
  FIELD_SECTION_BYTES_MAX_DEFAULT,
  type FieldLine,
  readFieldSectionPrefix,
  readPrefixInt,
  readStringLiteral,
} from "./qpack.ts";
import { QPACK_STATIC_TABLE } from "./qpack_static.ts";

/** Per-entry overhead in the table size (RFC 9204 §3.2.1). */
export const ENTRY_OVERHEAD_BYTES = 32;

function encoderStreamError(message: string): never {
  throw new H3Error("QPACK_ENCODER_STREAM_ERROR", message);
}

/**
 * The dynamic table as a decoder keeps it: entries by absolute index, evicted oldest first.
 *
 * @example
 * ```ts
 * const table = new DynamicTable(4096);
 * table.setCapacity(220);
 * table.insert(":authority", "www.example.com");
 * table.entry(0); // [":authority", "www.example.com"]; table.sizeBytes === 57
 * ```
 */
export class DynamicTable implements DynamicTableView {
  readonly maxTableCapacity: number;
  #capacity = 0;
  #sizeBytes = 0;
  #entries: FieldLine[] = [];
  /** Absolute index of `#entries[#head]`. */
  #firstIndex = 0;
  #head = 0;

  constructor(maxTableCapacity: number) {
    if (!Number.isSafeInteger(maxTableCapacity) || maxTableCapacity < 0) {
      throw new RangeError(`Cannot create DynamicTable: capacity ${maxTableCapacity} is invalid`);
    }
    this.maxTableCapacity = maxTableCapacity;
  }

  /** Current capacity, set by the peer's encoder (≤ maxTableCapacity). */
  get capacity(): number {
    return this.#capacity;
  }

  /** Sum of entry sizes (name + value + 32 each). */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Total inserts so far. */
  get insertCount(): number {
    return this.#firstIndex + this.#entries.length - this.#head;
  }

  /** Live entries. */
  get entryCount(): number {
    return this.#entries.length - this.#head;
  }

  /** The entry with this absolute index, or undefined when evicted or not inserted. */
  entry(absoluteIndex: number): FieldLine | undefined {
    if (absoluteIndex < this.#firstIndex) return undefined;
    return this.#entries[this.#head + absoluteIndex - this.#firstIndex];
  }

  /** Set Dynamic Table Capacity; above our maximum is QPACK_ENCODER_STREAM_ERROR. */
  setCapacity(capacity: number): void {
    if (capacity > this.maxTableCapacity) {
      encoderStreamError(`capacity ${capacity} exceeds ${this.maxTableCapacity}`);
    }
    this.#capacity = capacity;
    this.#evictTo(capacity);
  }

  /** Inserts an entry, evicting the oldest; one larger than the capacity is an error. */
  insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD_BYTES;
    if (size > this.#capacity) {
      encoderStreamError(`entry size ${size} exceeds capacity ${this.#capacity}`);
    }
    this.#evictTo(this.#capacity - size);
    this.#entries.push([name, value]);
    this.#sizeBytes += size;
  }

  #evictTo(sizeBytesMax: number): void {
    // Bounded by the entry count.
    while (this.#sizeBytes > sizeBytesMax) {
      const [name, value] = this.#entries[this.#head];
      this.#sizeBytes -= name.length + value.length + ENTRY_OVERHEAD_BYTES;
      this.#head++;
      this.#firstIndex++;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 64 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder-stream instructions (RFC 9204 §4.3)

/** One parsed encoder-stream instruction. */
export type EncoderInstruction =
  | { type: "set_capacity"; capacity: number }
  | { type: "insert_name_ref"; isStatic: boolean; nameIndex: number; value: string }
  | { type: "insert_literal"; name: string; value: string }
  | { type: "duplicate"; relativeIndex: number };

/**
 * Parses one encoder-stream instruction at `offset`; undefined when truncated. String lengths
 * over `stringBytesMax` fail at once (an entry cannot be larger than the table).
 */
export function readEncoderInstruction(
  bytes: Uint8Array,
  offset: number,
  stringBytesMax: number,
): { instruction: EncoderInstruction; next: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const first = bytes[offset];
  const literal = {
    lengthBytesMax: stringBytesMax,
    errorCode: "QPACK_ENCODER_STREAM_ERROR",
  } as const;
  if (first & 0x80) {
    const index = readPrefixInt(bytes, offset, 6);
    if (index === undefined) return undefined;
    const isStatic = (first & 0x40) !== 0;
    // Refuse a hopeless index now rather than wait for a value that may never come.
    if (!Number.isFinite(index.value) || isStatic && index.value >= QPACK_STATIC_TABLE.length) {
      encoderStreamError(`name index ${index.value} is invalid`);
    }
    const value = readStringLiteral(bytes, index.next, { prefixBits: 7, ...literal });
    if (value === undefined) return undefined;
    return {
      instruction: { type: "insert_name_ref", isStatic, nameIndex: index.value, value: value.text },
      next: value.next,
    };
  }
  if (first & 0x40) {
    const name = readStringLiteral(bytes, offset, { prefixBits: 5, ...literal });
    if (name === undefined) return undefined;
    const value = readStringLiteral(bytes, name.next, { prefixBits: 7, ...literal });
    if (value === undefined) return undefined;
    return {
      instruction: { type: "insert_literal", name: name.text, value: value.text },
      next: value.next,
    };
  }
  const number = readPrefixInt(bytes, offset, 5);
  if (number === undefined) return undefined;
  const instruction: EncoderInstruction = first & 0x20
    ? { type: "set_capacity", capacity: number.value }
    : { type: "duplicate", relativeIndex: number.value };
  return { instruction, next: number.next };
}

/** Applies one instruction to the table; errors are QPACK_ENCODER_STREAM_ERROR. */
export function applyEncoderInstruction(
  table: DynamicTable,
  instruction: EncoderInstruction,
): void {
  switch (instruction.type) {
    case "set_capacity":
      return table.setCapacity(instruction.capacity);
    case "insert_literal":
      return table.insert(instruction.name, instruction.value);
    case "insert_name_ref": {
      const source = instruction.isStatic
        ? QPACK_STATIC_TABLE[instruction.nameIndex]
        : table.entry(table.insertCount - 1 - instruction.nameIndex);
      if (source === undefined) {
        encoderStreamError(`name index ${instruction.nameIndex} is invalid`);
      }
      return table.insert(source[0], instruction.value);
    }
    case "duplicate": {
      const source = table.entry(table.insertCount - 1 - instruction.relativeIndex);
      if (source === undefined) {
        encoderStreamError(`duplicate index ${instruction.relativeIndex} is invalid`);
      }
      return table.insert(source[0], source[1]);
    }
  }
}

/** Set Dynamic Table Capacity. @example encodeSetCapacity(220) // [0x3f, 0xbd, 0x01] */
export function encodeSetCapacity(capacity: number): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0x20, 5, capacity);
  return writer.bytes.slice();
}

/**
 * Insert With Name Reference; `nameIndex` is a static index or a relative dynamic index.
 *
 * @example
 * ```ts
 * encodeInsertWithNameRef({ isStatic: true, nameIndex: 0, value: "www.example.com" });
 * ```
 */
export function encodeInsertWithNameRef(
  options: { isStatic: boolean; nameIndex: number; value: string },
): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(options.isStatic ? 0xc0 : 0x80, 6, options.nameIndex);
  writer.stringLiteral(0, 7, options.value);
  return writer.bytes.slice();
}

/** Insert With Literal Name. @example encodeInsertWithLiteralName("custom-key", "custom-value") */
export function encodeInsertWithLiteralName(name: string, value: string): Uint8Array {
  const writer = new ByteWriter();
  writer.stringLiteral(0x40, 5, name);
  writer.stringLiteral(0, 7, value);
  return writer.bytes.slice();
}

/** Duplicate (relative index). @example encodeDuplicate(2) // [0x02] */
export function encodeDuplicate(relativeIndex: number): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0x00, 5, relativeIndex);
  return writer.bytes.slice();
}

// ---------------------------------------------------------------------------------------------
// Decoder-stream instructions (RFC 9204 §4.4)

/** Section Acknowledgment. @example encodeSectionAcknowledgment(4) // [0x84] */
export function encodeSectionAcknowledgment(streamId: number): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0x80, 7, streamId);
  return writer.bytes.slice();
}

/** Stream Cancellation. @example encodeStreamCancellation(8) // [0x48] */
export function encodeStreamCancellation(streamId: number): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0x40, 6, streamId);
  return writer.bytes.slice();
}

/** Insert Count Increment. @example encodeInsertCountIncrement(1) // [0x01] */
export function encodeInsertCountIncrement(increment: number): Uint8Array {
  const writer = new ByteWriter();
  writer.prefixInt(0x00, 6, increment);
  return writer.bytes.slice();
}

/** One parsed decoder-stream instruction. */
export type DecoderInstruction =
  | { type: "section_ack"; streamId: number }
  | { type: "stream_cancel"; streamId: number }
  | { type: "insert_count_increment"; increment: number };

/**
 * Reads the peer's decoder stream. Our encoder never inserts into the peer's table, so any
 * Section Acknowledgment or Insert Count Increment is QPACK_DECODER_STREAM_ERROR (RFC 9204
 * §4.4.1, §4.4.3); Stream Cancellations are returned.
 *
 * @example
 * ```ts
 * const reader = new DecoderStreamReader();
 * reader.push(new Uint8Array([0x44])); // [{ type: "stream_cancel", streamId: 4 }]
 * ```
 */
export class DecoderStreamReader {
  #pending = new Uint8Array(0);

  /** Parses every complete instruction in the bytes so far. */
  push(chunk: Uint8Array): DecoderInstruction[] {
    const bytes = joinPending(this.#pending, chunk);
    const out: DecoderInstruction[] = [];
    let offset = 0;
    // Each instruction consumes at least one byte.
    while (offset < bytes.length) {
      const first = bytes[offset];
      const prefixBits = first & 0x80 ? 7 : first & 0x40 ? 6 : 6;
      const number = readPrefixInt(bytes, offset, prefixBits);
      if (number === undefined) break;
      if (!Number.isFinite(number.value)) {
        throw new H3Error("QPACK_DECODER_STREAM_ERROR", "integer overflow");
      }
      offset = number.next;
      if (first & 0x80 || (first & 0x40) === 0) {
        throw new H3Error(
          "QPACK_DECODER_STREAM_ERROR",
          "acknowledgment or increment for a dynamic table we never used",
        );
      }
      out.push({ type: "stream_cancel", streamId: number.value });
    }
    this.#pending = bytes.slice(offset);
    if (this.#pending.length > 16) {
      throw new H3Error("QPACK_DECODER_STREAM_ERROR", "instruction longer than 16 bytes");
    }
    return out;
  }
}

function joinPending(pending: Uint8Array, chunk: Uint8Array): Uint8Array {
  if (pending.length === 0) return chunk;
  const joined = new Uint8Array(pending.length + chunk.length);
  joined.set(pending);
  joined.set(chunk, pending.length);
  return joined;
}

// ---------------------------------------------------------------------------------------------
// The connection's decoder

/** Options of {@link QpackDecoder}: the values of the SETTINGS we send. */
export interface QpackDecoderOptions {
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertise (0 disables the dynamic table). */
  maxTableCapacity: number;
  /** SETTINGS_QPACK_BLOCKED_STREAMS we advertise. */
  blockedStreamsMax: number;
  /** Decoded field-section limit (name + value + 32 per line); default 65536. */
  fieldSectionBytesMax?: number;
  /** Writes decoder-stream instructions to our QPACK decoder stream. */
  onDecoderStreamBytes?: (bytes: Uint8Array) => void;
  /**
   * Table capacity before any Set Dynamic Table Capacity; default 0 as RFC 9204 §3.2.3 says.
   * Only the QPACK offline interop files (qifs) assume a table that starts at the maximum.
   */
  initialTableCapacity?: number;
}

/** The outcome of {@link QpackDecoder.decodeOrBlock}. */
export type DecodeOutcome =
  | { fields: FieldLine[]; blocked?: undefined }
  | { blocked: Promise<FieldLine[]>; fields?: undefined };

interface BlockedSection {
  streamId: number;
  bytes: Uint8Array;
  requiredInsertCount: number;
  resolve: (fields: FieldLine[]) => void;
  reject: (error: H3Error) => void;
}

/**
 * A connection's QPACK decoder: dynamic table, encoder-stream input, blocked streams and
 * decoder-stream output. See the module documentation for the flow.
 *
 * @example
 * ```ts
 * const decoder = new QpackDecoder({ maxTableCapacity: 0, blockedStreamsMax: 0 });
 * decoder.decodeOrBlock(0, new Uint8Array([0, 0, 0xd1])).fields; // [[":method", "GET"]]
 * ```
 */
export class QpackDecoder {
  readonly table: DynamicTable;
  readonly #blockedStreamsMax: number;
  readonly #fieldSectionBytesMax: number;
  readonly #send: (bytes: Uint8Array) => void;
  readonly #blocked = new Map<number, BlockedSection[]>();
  #encoderPending = new Uint8Array(0);
  #knownReceivedCount = 0;
  #closed = false;

  constructor(options: QpackDecoderOptions) {
    this.table = new DynamicTable(options.maxTableCapacity);
    if (options.initialTableCapacity !== undefined) {
      if (options.initialTableCapacity > options.maxTableCapacity) {
        throw new RangeError(
          `Cannot create QpackDecoder: initialTableCapacity ${options.initialTableCapacity} exceeds ${options.maxTableCapacity}`,
        );
      }
      this.table.setCapacity(options.initialTableCapacity);
    }
    if (!Number.isSafeInteger(options.blockedStreamsMax) || options.blockedStreamsMax < 0) {
      throw new RangeError(
        `Cannot create QpackDecoder: blockedStreamsMax ${options.blockedStreamsMax}`,
      );
    }
    this.#blockedStreamsMax = options.blockedStreamsMax;
    this.#fieldSectionBytesMax = options.fieldSectionBytesMax ?? FIELD_SECTION_BYTES_MAX_DEFAULT;
    this.#send = options.onDecoderStreamBytes ?? (() => {});
  }

  /** Streams currently waiting for inserts. */
  get blockedStreamCount(): number {
    return this.#blocked.size;
  }

  /**
   * Decodes a field section now, or returns a promise for it when it references inserts that
   * have not arrived. The promise is pre-handled: dropping it does not raise an unhandled
   * rejection. `bytes` is kept while blocked: do not reuse it.
   */
  decodeOrBlock(streamId: number, bytes: Uint8Array): DecodeOutcome {
    if (this.#closed) {
      throw new H3Error("H3_REQUEST_CANCELLED", "decoder is closed", { scope: "stream" });
    }
    const prefix = readFieldSectionPrefix(bytes, {
      maxTableCapacity: this.table.maxTableCapacity,
      totalInsertCount: this.table.insertCount,
    });
    if (prefix.requiredInsertCount <= this.table.insertCount) {
      return { fields: this.#decodeNow(streamId, bytes) };
    }
    const queue = this.#blocked.get(streamId);
    if (queue === undefined && this.#blocked.size >= this.#blockedStreamsMax) {
      throw new H3Error(
        "QPACK_DECOMPRESSION_FAILED",
        `stream ${streamId} would be blocked stream ${
          this.#blocked.size + 1
        }, limit ${this.#blockedStreamsMax}`,
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<FieldLine[]>();
    promise.catch(() => {});
    const section = {
      streamId,
      bytes,
      requiredInsertCount: prefix.requiredInsertCount,
      resolve,
      reject,
    };
    if (queue === undefined) this.#blocked.set(streamId, [section]);
    else queue.push(section);
    return { blocked: promise };
  }

  #decodeNow(streamId: number, bytes: Uint8Array, requiredInsertCountSeen?: number): FieldLine[] {
    let decoded;
    try {
      decoded = decodeFieldSection(bytes, {
        table: this.table,
        fieldSectionBytesMax: this.#fieldSectionBytesMax,
      });
      // Required Insert Count is decoded relative to the insert count (§4.5.1.1); a valid
      // encoder cannot make it change while the section waits, so a change is an error.
      if (requiredInsertCountSeen !== undefined) {
        if (decoded.requiredInsertCount !== requiredInsertCountSeen) {
          throw new H3Error(
            "QPACK_DECOMPRESSION_FAILED",
            `Required Insert Count moved from ${requiredInsertCountSeen} to ${decoded.requiredInsertCount}`,
          );
        }
      }
    } catch (error) {
      // A stream-level refusal of a section that used the table: tell the encoder the stream's
      // references are gone (RFC 9204 §4.4.2).
      if (error instanceof H3Error && error.scope === "stream") this.cancelStream(streamId);
      throw error;
    }
    if (decoded.requiredInsertCount > 0) {
      this.#send(encodeSectionAcknowledgment(streamId));
      this.#knownReceivedCount = Math.max(this.#knownReceivedCount, decoded.requiredInsertCount);
    }
    return decoded.fields;
  }

  /**
   * Feeds bytes of the peer's encoder stream; applies complete instructions, wakes blocked
   * sections and sends Insert Count Increment. Throws QPACK_ENCODER_STREAM_ERROR.
   */
  receiveEncoderStream(chunk: Uint8Array): void {
    const bytes = joinPending(this.#encoderPending, chunk);
    // An entry never exceeds the table, so no string in a valid instruction is longer.
    const stringBytesMax = this.table.maxTableCapacity;
    let offset = 0;
    // Each instruction consumes at least one byte.
    while (offset < bytes.length) {
      const read = readEncoderInstruction(bytes, offset, stringBytesMax);
      if (read === undefined) break;
      applyEncoderInstruction(this.table, read.instruction);
      offset = read.next;
    }
    this.#encoderPending = bytes.slice(offset);
    if (this.#encoderPending.length > stringBytesMax * 2 + 32) {
      encoderStreamError("incomplete instruction is longer than any valid one");
    }
    this.#wakeBlocked();
    const increment = this.table.insertCount - this.#knownReceivedCount;
    if (increment > 0) {
      this.#send(encodeInsertCountIncrement(increment));
      this.#knownReceivedCount = this.table.insertCount;
    }
  }

  #wakeBlocked(): void {
    const insertCount = this.table.insertCount;
    for (const [streamId, queue] of this.#blocked) {
      // Sections on one stream are decoded in order: stop at the first still blocked.
      while (queue.length > 0 && queue[0].requiredInsertCount <= insertCount) {
        const section = queue.shift()!;
        try {
          section.resolve(this.#decodeNow(streamId, section.bytes, section.requiredInsertCount));
        } catch (error) {
          section.reject(error as H3Error);
        }
      }
      if (queue.length === 0) this.#blocked.delete(streamId);
    }
  }

  /**
   * The stream was reset or abandoned: drops its blocked sections (their promises reject with
   * H3_REQUEST_CANCELLED) and sends Stream Cancellation when the dynamic table is enabled.
   */
  cancelStream(streamId: number): void {
    const queue = this.#blocked.get(streamId);
    this.#blocked.delete(streamId);
    for (const section of queue ?? []) {
      section.reject(
        new H3Error("H3_REQUEST_CANCELLED", `stream ${streamId} cancelled`, { scope: "stream" }),
      );
    }
    if (this.table.maxTableCapacity > 0 && !this.#closed) {
      this.#send(encodeStreamCancellation(streamId));
    }
  }

  /** Ends the decoder: every blocked section rejects with H3_REQUEST_CANCELLED. */
  close(): void {
    this.#closed = true;
    for (const streamId of [...this.#blocked.keys()]) this.cancelStream(streamId);
  }
}
