/**
 * The message writer: single-segment, unpacked frames written straight into a caller's buffer
 * (a pool lease view), sized exactly beforehand by the codecs' `measureChildren`.
 *
 * @module
 */
import type { StructCodec } from "./codec.ts";
import { CapnpError } from "./errors.ts";
import { encodeUtf8Into, utf8Length } from "./text.ts";
import { viewsOf } from "./_views.ts";

const TWO_POW_32 = 4294967296;

/**
 * Words taken by a Text value (bytes plus NUL, rounded up); `""` takes none (null pointer).
 *
 * @example
 * ```ts
 * textWords("hello"); // 1
 * ```
 */
export function textWords(s: string): number {
  return s.length === 0 ? 0 : (utf8Length(s) + 8) >>> 3;
}

/**
 * Words taken by a Data value; empty takes none (null pointer).
 *
 * @example
 * ```ts
 * dataWords(new Uint8Array(9)); // 2
 * ```
 */
export function dataWords(b: Uint8Array): number {
  return (b.length + 7) >>> 3;
}

/**
 * Words taken by a List(Text) value (pointers plus texts); empty takes none.
 *
 * @example
 * ```ts
 * textListWords(["a", "b"]); // 4
 * ```
 */
export function textListWords(values: readonly string[]): number {
  let words = values.length;
  for (let i = 0; i < values.length; i++) words += textWords(values[i]);
  return words;
}

/**
 * Words taken by a List(Struct) value (tag, elements, their children); empty takes none.
 *
 * @example
 * ```ts
 * structListWords(PropertyCodec, [{ key: "k", value: "v" }]); // 5
 * ```
 */
export function structListWords<T>(codec: StructCodec<T>, values: readonly T[]): number {
  const count = values.length;
  if (count === 0) return 0;
  let words = 1 + count * (codec.dataWords + codec.pointerCount);
  for (let i = 0; i < count; i++) words += codec.measureChildren(values[i]);
  return words;
}

/**
 * Writes a message into a target buffer, word by word from its start. Every allocation checks
 * that it ends inside the target (a target too small is a CapnpError target_too_small before
 * any byte outside it is touched) and zeroes its words, so a reused pool block never leaks old
 * bytes and unset fields and padding read as zero. Generated code calls it. Positions are
 * absolute in the whole underlying buffer (`bytes`); the message starts at `base`.
 */
export class MessageWriter {
  /** The whole underlying buffer of the target. */
  bytes: Uint8Array;
  view: DataView;
  /** The target's first byte in `bytes`. */
  base: number;
  /** Byte position of the next free word. */
  next: number;
  /** Byte position just past the target. */
  end: number;
  private target: Uint8Array;

  constructor(target: Uint8Array, nextBytes: number) {
    const views = viewsOf(target);
    this.bytes = views.u8;
    this.view = views.view;
    this.base = target.byteOffset;
    this.next = this.base + nextBytes;
    this.end = this.base + target.length;
    this.target = target;
  }

  /**
   * Points this writer at a new target (writes are synchronous, so one writer is reused). The
   * views of the last target are kept when the same target comes again (a pool keeps one view
   * per block): a typed array never changes its buffer, and a detached or out-of-bounds one has
   * length 0, which `startMessage` refuses.
   */
  reset(target: Uint8Array, nextBytes: number): this {
    if (target !== this.target) {
      const views = viewsOf(target);
      this.bytes = views.u8;
      this.view = views.view;
      this.target = target;
    }
    this.base = target.byteOffset;
    this.next = this.base + nextBytes;
    this.end = this.base + target.length;
    return this;
  }

  /** Takes `words` zeroed words at the next free position; returns their first byte. */
  take(words: number): number {
    const at = this.next;
    const next = at + words * 8;
    if (next > this.end) this.tooSmall(next);
    this.next = next;
    if (words <= ZERO_BY_WORDS_MAX) {
      const view = this.view;
      for (let p = at; p < next; p += 8) view.setFloat64(p, 0);
    } else {
      this.bytes.fill(0, at, next);
    }
    return at;
  }

  /** Allocates a struct, points the pointer at `ptrPos` to it, returns its data position. */
  allocStruct(ptrPos: number, dataWordCount: number, pointerCount: number): number {
    const words = dataWordCount + pointerCount;
    // A zero-sized struct points at itself (offset -1) so the pointer is not null.
    const at = words === 0 ? ptrPos : this.take(words);
    this.view.setUint32(ptrPos, ((at - ptrPos - 8) / 8) << 2, true);
    this.view.setUint32(ptrPos + 4, dataWordCount | (pointerCount << 16), true);
    return at;
  }

  /** Writes a struct-typed field with `codec`. */
  struct<T>(ptrPos: number, codec: StructCodec<T>, value: T): void {
    const at = this.allocStruct(ptrPos, codec.dataWords, codec.pointerCount);
    codec.writeBody(this, value, at);
  }

  /** Writes a List(Struct) field; an empty list is a null pointer. */
  structList<T>(ptrPos: number, codec: StructCodec<T>, values: readonly T[]): void {
    const count = values.length;
    if (count === 0) return;
    const elementWords = codec.dataWords + codec.pointerCount;
    const wordCount = elementWords * count;
    const tag = this.take(1 + wordCount);
    this.listPointer(ptrPos, tag, 7 | (wordCount << 3));
    this.view.setUint32(tag, count << 2, true);
    this.view.setUint32(tag + 4, codec.dataWords | (codec.pointerCount << 16), true);
    let at = tag + 8;
    for (let i = 0; i < count; i++, at += elementWords * 8) codec.writeBody(this, values[i], at);
  }

  /** Writes a List(Text) field; an empty list is a null pointer. */
  textList(ptrPos: number, values: readonly string[]): void {
    const count = values.length;
    if (count === 0) return;
    const first = this.take(count);
    this.listPointer(ptrPos, first, 6 | (count << 3));
    for (let i = 0; i < count; i++) this.text(first + i * 8, values[i]);
  }

  /** Writes a Text field; `""` is a null pointer. */
  text(ptrPos: number, s: string): void {
    const n = s.length;
    if (n === 0) return;
    // One pass for ASCII: the space for n bytes and the NUL is taken (its last word zeroed:
    // the NUL and the padding), then the characters are copied while checked; a non-ASCII
    // string is encoded afterwards.
    const at = this.next;
    const next = at + ((n + 8) & ~7);
    if (next > this.end) this.tooSmall(next);
    this.next = next;
    this.view.setFloat64(next - 8, 0);
    const bytes = this.bytes;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[at + i] = c;
    }
    const length = i === n ? n : this.encodeRest(s, at, (n + 8) >>> 3);
    this.listPointer(ptrPos, at, 2 | ((length + 1) << 3));
  }

  /** Writes a non-ASCII `s` at `at`, where `words` words are taken; returns its UTF-8 length. */
  private encodeRest(s: string, at: number, words: number): number {
    const length = utf8Length(s);
    const needed = (length + 8) >>> 3;
    if (needed > words) this.take(needed - words);
    encodeUtf8Into(s, this.bytes, { start: at, length });
    return length;
  }

  /** Writes a Data field; empty is a null pointer. */
  data(ptrPos: number, b: Uint8Array): void {
    if (b.length === 0) return;
    const at = this.take((b.length + 7) >>> 3);
    this.listPointer(ptrPos, at, 2 | (b.length << 3));
    this.bytes.set(b, at);
  }

  /** Writes a UInt32. */
  u32(position: number, value: number): void {
    if (!(value >= 0 && value <= 0xffffffff && Number.isInteger(value))) {
      throw new RangeError(`Cannot write UInt32: ${value} is not an integer in 0..2^32-1`);
    }
    this.view.setUint32(position, value, true);
  }

  /** Writes a UInt64 (a safe non-negative integer). */
  u64(position: number, value: number): void {
    if (value >= 0 && value <= 0xffffffff && (value >>> 0) === value) {
      this.view.setUint32(position, value, true);
      return;
    }
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value))) {
      throw new RangeError(`Cannot write UInt64: ${value} is not an integer in 0..2^53-1`);
    }
    this.view.setUint32(position, value >>> 0, true);
    this.view.setUint32(position + 4, Math.floor(value / TWO_POW_32), true);
  }

  /** Writes an Int64 (a safe integer). */
  i64(position: number, value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot write Int64: ${value} is not a safe integer`);
    }
    const hi = Math.floor(value / TWO_POW_32);
    this.view.setUint32(position, value - hi * TWO_POW_32, true);
    this.view.setInt32(position + 4, hi, true);
  }

  private listPointer(ptrPos: number, target: number, hi: number): void {
    this.view.setUint32(ptrPos, (((target - ptrPos - 8) / 8) << 2) | 1, true);
    this.view.setUint32(ptrPos + 4, hi, true);
  }

  private tooSmall(next: number): never {
    throw new CapnpError(
      "target_too_small",
      `Cannot write message: ${next - this.base} bytes exceed the ${
        this.end - this.base
      }-byte target`,
    );
  }
}

/**
 * Exact framed size in bytes of a single-segment message whose root is `value`, so the caller
 * can lease the right block class before encoding.
 *
 * @example
 * ```ts
 * const size = measureMessage(PropertyCodec, { key: "k", value: "v" }); // 40
 * ```
 */
export function measureMessage<T>(codec: StructCodec<T>, value: T): number {
  return 16 + (codec.dataWords + codec.pointerCount + codec.measureChildren(value)) * 8;
}

/**
 * Writes a framed, unpacked, single-segment message into `target` (e.g. a pool lease view)
 * and returns the bytes written ({@link measureMessage} gives the same number beforehand).
 * Throws CapnpError target_too_small when it does not fit.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(measureMessage(PropertyCodec, p));
 * writeMessage(PropertyCodec, p, out);
 * ```
 */
export function writeMessage<T>(codec: StructCodec<T>, value: T, target: Uint8Array): number {
  const w = startMessage(target);
  w.struct(w.base + 8, codec, value);
  return finishMessage(w);
}

const SHARED_WRITER = new MessageWriter(new Uint8Array(16), 0);
/** Up to this many words are zeroed one store at a time (`fill` costs ~30 ns even for one). */
const ZERO_BY_WORDS_MAX = 64;

/** Points the shared writer at `target`, past the one-segment frame header and root pointer. */
export function startMessage(target: Uint8Array): MessageWriter {
  if (target.length < 16) {
    throw new CapnpError(
      "target_too_small",
      `Cannot write message: 16 bytes exceed the ${target.length}-byte target`,
    );
  }
  const w = SHARED_WRITER.reset(target, 16);
  w.view.setFloat64(w.base + 8, 0);
  return w;
}

/** Writes the frame header (one segment of everything written); returns the framed size. */
export function finishMessage(w: MessageWriter): number {
  const total = w.next - w.base;
  w.view.setUint32(w.base, 0, true);
  w.view.setUint32(w.base + 4, (total - 8) / 8, true);
  return total;
}
