/**
 * The validating, in-place message reader: bounds-checked pointer resolution for the generated
 * struct readers, over a message whose frame `frame.ts` has checked.
 *
 * The methods take positional arguments on purpose: generated code calls them once per field
 * on the hot path, where an options object would be one allocation per field.
 *
 * @module
 */
import type { StructCodec } from "./codec.ts";
import { CapnpError } from "./errors.ts";
import { READ_LIMITS_DEFAULT, type ReadLimits } from "./limits.ts";
import { decodeUtf8 } from "./text.ts";
import { asciiWindow } from "./_ascii_window.ts";
import { resolveFar } from "./_far_pointer.ts";
import { RESOLVED, setTag } from "./_resolved.ts";
import { shortAsciiText } from "./_short_texts.ts";
import { type BufferViews, viewsOf } from "./_views.ts";

/** Where a pointer sits in a message: a segment index and the pointer's byte offset. */
export interface PointerRef {
  /** Segment index (0 for single-segment messages). */
  readonly segment: number;
  /** Byte offset of the pointer word from the start of the message's bytes. */
  readonly position: number;
}

export { RESOLVED } from "./_resolved.ts";

/** List element encodings the generated readers ask for (Cap'n Proto element sizes). */
export const LIST_KIND = { byte: 2, pointer: 6, composite: 7 } as const;

/**
 * In small messages, texts up to this many bytes (up to 8 in any message) go through the
 * short-text cache (`_short_texts.ts`) instead of an ASCII window.
 */
const SHORT_TEXT_BYTES_MAX = 16;

const TWO_POW_32 = 4294967296;
/** The traversal budget of even the smallest message (see `ReadLimits.amplificationMax`). */
const TRAVERSAL_WORDS_MIN = 64;

/** Largest ASCII window decoded at once for Text fields (see `decodeText`). */
const TEXT_WINDOW_BYTES = 32768;

const R = RESOLVED;

/**
 * A validated message. Generated code calls its methods to resolve pointers; each call checks
 * bounds, charges the traversal budget and, for structs and lists, the nesting depth.
 * Results of `resolveStruct`/`resolveList` are left in `RESOLVED` (no allocation).
 * Positions are byte offsets in the whole underlying buffer (`u8`), not in `bytes`.
 */
export class MessageReader {
  /** The message bytes as given to readMessage. */
  readonly bytes: Uint8Array;
  /** `bytes.byteOffset`: the message's first byte in `u8`. */
  readonly base: number;
  /** The whole underlying buffer (positions index it). */
  readonly u8: Uint8Array;
  readonly view: DataView;
  /** The buffer's 4-byte words (ASCII scans). */
  readonly u32: Uint32Array;
  /**
   * Segment bounds, interleaved: segment `i` is the bytes `[segments[2i], segments[2i + 1])`
   * of `u8` (one array per message, not two).
   */
  readonly segments: readonly number[];
  readonly nestingDepthMax: number;
  /** Writable only so `readParams` can tighten it for one decode (a per-method limit). */
  listLengthMax: number;
  /**
   * Whether Data fields decode as views of the message bytes instead of copies (set by
   * `readParams` for one decode; the caller keeps the bytes alive while the views are used).
   */
  dataViews = false;
  traversalWordsLeft: number;
  private scanBytesLeft: number;
  /** The last ASCII window (see `decodeText`): its byte range and its text. */
  private windowStart = 0;
  private windowEnd = 0;
  private windowText = "";
  /** Whether the message is small enough that texts of up to 16 bytes skip windows. */
  private readonly small: boolean;

  constructor(
    bytes: Uint8Array,
    segments: readonly number[],
    limits?: ReadLimits,
    views: BufferViews = viewsOf(bytes),
  ) {
    this.bytes = bytes;
    this.base = bytes.byteOffset;
    this.u8 = views.u8;
    this.view = views.view;
    this.u32 = views.u32;
    this.segments = segments;
    const bodyWords = (this.base + bytes.length - segments[0]) / 8;
    if (limits === undefined || limits === READ_LIMITS_DEFAULT) {
      this.nestingDepthMax = READ_LIMITS_DEFAULT.nestingDepthMax;
      this.listLengthMax = READ_LIMITS_DEFAULT.listLengthMax;
      this.traversalWordsLeft = traversalBudget(bodyWords, READ_LIMITS_DEFAULT);
    } else {
      this.nestingDepthMax = limits.nestingDepthMax ?? READ_LIMITS_DEFAULT.nestingDepthMax;
      this.listLengthMax = limits.listLengthMax ?? READ_LIMITS_DEFAULT.listLengthMax;
      this.traversalWordsLeft = traversalBudget(bodyWords, limits);
    }
    this.scanBytesLeft = 2 * bytes.length + TEXT_WINDOW_BYTES;
    this.small = bytes.length < 2048;
  }

  /** The root pointer: the first word of segment 0. */
  root(): PointerRef {
    return { segment: 0, position: this.segments[0] };
  }

  /** Decodes the struct behind the pointer at `position` of `seg` with `codec`. */
  structField<T>(seg: number, position: number, depth: number, codec: StructCodec<T>): T {
    if (!this.resolveStruct(seg, position, depth + 1)) {
      return codec.readBody(this, seg, 0, 0, 0, depth + 1);
    }
    return codec.readBody(this, R.seg, R.pos, R.dataBytes, R.ptrCount, depth + 1);
  }

  /** Decodes the struct behind the pointer at `position`, or null for a null pointer. */
  nullableStructField<T>(
    seg: number,
    position: number,
    depth: number,
    codec: StructCodec<T>,
  ): T | null {
    if (!this.resolveStruct(seg, position, depth + 1)) return null;
    return codec.readBody(this, R.seg, R.pos, R.dataBytes, R.ptrCount, depth + 1);
  }

  /** Decodes a List(Struct) behind the pointer at `position`; null reads as `[]`. */
  structList<T>(
    seg: number,
    position: number,
    depth: number,
    lengthMax: number,
    codec: StructCodec<T>,
  ): T[] {
    if (!this.resolveList(seg, position, depth + 1, LIST_KIND.composite, lengthMax)) return [];
    const count = R.count;
    const s = R.seg;
    const step = R.step;
    const dataBytes = R.dataBytes;
    const ptrCount = R.ptrCount;
    let at = R.pos;
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++, at += step) {
      out[i] = codec.readBody(this, s, at, dataBytes, ptrCount, depth + 2);
    }
    return out;
  }

  /** Decodes a List(Text) behind the pointer at `position`; null reads as `[]`. */
  textList(
    seg: number,
    position: number,
    depth: number,
    lengthMax: number,
    textBytesMax: number,
  ): string[] {
    if (!this.resolveList(seg, position, depth + 1, LIST_KIND.pointer, lengthMax)) return [];
    const count = R.count;
    const s = R.seg;
    const first = R.pos;
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = this.text(s, first + 8 * i, textBytesMax);
    return out;
  }

  /**
   * Decodes the Text behind the pointer at `position`; null reads as `""`. The common case (a
   * near byte-list pointer inside its segment, NUL-terminated, within the field's limit) is
   * checked first, in one condition; everything else (null, far pointers, every error) goes
   * through `textRange`. Short texts come from the short-text cache, longer ones from the
   * current ASCII window when they lie inside it.
   */
  text(seg: number, position: number, textBytesMax: number): string {
    const view = this.view;
    const lo = view.getUint32(position, true);
    const hi = view.getUint32(position + 4, true);
    const at = position + 8 + (lo >> 2) * 8;
    const length = (hi >>> 3) - 1;
    if (
      (lo & 3) === 1 && (hi & 7) === LIST_KIND.byte && length >= 0 && length <= textBytesMax &&
      at >= this.segments[2 * seg] && at + length < this.segments[2 * seg + 1] &&
      this.u8[at + length] === 0
    ) {
      this.traversalWordsLeft -= (length + 8) >>> 3;
      if (this.traversalWordsLeft < 0) this.charge(0);
      if (length <= 8 || (length <= SHORT_TEXT_BYTES_MAX && this.small)) {
        return this.shortText(at, length);
      }
      const offset = at - this.windowStart;
      if (offset >= 0 && at + length <= this.windowEnd) {
        return this.windowText.substring(offset, offset + length);
      }
      return this.decodeText(at, length);
    }
    if (!this.textRange(seg, position, textBytesMax)) return "";
    return this.decodeText(R.pos, R.count);
  }

  /**
   * Decodes validated Text bytes. An ASCII run around them is decoded once into a window
   * string, and texts inside the window are substrings of it (one native decode for many
   * texts). The bytes scanned for windows are bounded by twice the message size; past that,
   * and for non-ASCII text, each text is decoded (strictly) on its own.
   */
  private decodeText(at: number, length: number): string {
    // Windows pay off when many texts share one; in small messages short texts are cheaper
    // to build one by one.
    if (length <= 8 || (length <= SHORT_TEXT_BYTES_MAX && this.small)) {
      return this.shortText(at, length);
    }
    if (this.scanBytesLeft > 0 && this.openWindow(at, length)) {
      return this.windowText.substring(0, length);
    }
    return decodeUtf8(this.u8, at, length);
  }

  /**
   * A text of at most 16 bytes: the ASCII check reads the (word-aligned) text's first one or
   * two words, which belong to the text (its NUL and padding included); any byte of 0x80 or
   * more there, or an unaligned text, takes the strict path.
   */
  private shortText(at: number, length: number): string {
    if (length === 0) return "";
    const short = (at & 3) === 0 ? shortAsciiText(this.u8, this.u32, at, length) : null;
    return short ?? decodeUtf8(this.u8, at, length);
  }

  /** Opens the ASCII window at `at` (see `asciiWindow`), charged to `scanBytesLeft`. */
  private openWindow(at: number, length: number): boolean {
    const limit = Math.min(
      this.base + this.bytes.length,
      at + Math.min(this.scanBytesLeft, Math.max(length, TEXT_WINDOW_BYTES)),
    );
    const window = asciiWindow(this.u8, this.u32, at, limit);
    this.scanBytesLeft -= window.scannedBytes + 1;
    if (window.end < at + length) return false;
    this.windowText = window.text;
    this.windowStart = at;
    this.windowEnd = window.end;
    return true;
  }

  /**
   * Resolves a Text pointer without decoding: on `true`, `RESOLVED.pos` is the first byte and
   * `RESOLVED.count` the UTF-8 length without the NUL terminator. `false` means a null pointer
   * (`""`).
   */
  textRange(seg: number, position: number, textBytesMax: number): boolean {
    const view = this.view;
    const lo = view.getUint32(position, true);
    const hi = view.getUint32(position + 4, true);
    const at = position + 8 + (lo >> 2) * 8;
    const length = (hi >>> 3) - 1;
    if (
      (lo & 3) === 1 && (hi & 7) === LIST_KIND.byte && length >= 0 && length <= textBytesMax &&
      at >= this.segments[2 * seg] && at + length < this.segments[2 * seg + 1] &&
      this.u8[at + length] === 0
    ) {
      this.traversalWordsLeft -= (length + 8) >>> 3;
      if (this.traversalWordsLeft < 0) this.charge(0);
      R.seg = seg;
      R.pos = at;
      R.count = length;
      return true;
    }
    if (!this.resolveList(seg, position, 1, LIST_KIND.byte, 0x7fffffff)) return false;
    const count = R.count;
    if (count === 0 || this.u8[R.pos + count - 1] !== 0) {
      throw new CapnpError("bad_text", "Cannot read text: it is not NUL-terminated");
    }
    if (count - 1 > textBytesMax) {
      throw new CapnpError(
        "too_large",
        `Cannot read text: length ${count - 1} bytes exceeds ${textBytesMax}`,
      );
    }
    R.count = count - 1;
    return true;
  }

  /**
   * The Data behind the pointer at `position`: a copy out of the message, or a view of it when
   * `dataViews` is set; null reads empty.
   */
  data(seg: number, position: number, dataBytesMax: number): Uint8Array {
    if (!this.resolveList(seg, position, 1, LIST_KIND.byte, dataBytesMax)) {
      return new Uint8Array(0);
    }
    if (this.dataViews) return this.u8.subarray(R.pos, R.pos + R.count);
    return this.u8.slice(R.pos, R.pos + R.count);
  }

  /** Reads a UInt64 at byte `position` as a number; above 2^53-1 is refused. */
  u64(position: number): number {
    const hi = this.view.getUint32(position + 4, true);
    if (hi === 0) return this.view.getUint32(position, true);
    if (hi > 0x1fffff) {
      throw new CapnpError("bad_value", "Cannot read UInt64: value exceeds 2^53-1");
    }
    return hi * TWO_POW_32 + this.view.getUint32(position, true);
  }

  /** Reads an Int64 at byte `position` as a number; outside ±(2^53-1) is refused. */
  i64(position: number): number {
    const hi = this.view.getInt32(position + 4, true);
    const lo = this.view.getUint32(position, true);
    if (hi > 0x1fffff || hi < -0x200000 || (hi === -0x200000 && lo === 0)) {
      throw new CapnpError("bad_value", "Cannot read Int64: value is outside ±(2^53-1)");
    }
    return hi * TWO_POW_32 + lo;
  }

  /**
   * Resolves a struct pointer. Returns false for a null pointer; otherwise sets `RESOLVED`'s
   * `seg`, `pos`, `dataBytes`, `ptrCount` after checking bounds, depth and traversal budget.
   */
  resolveStruct(seg: number, position: number, depth: number): boolean {
    const view = this.view;
    const lo = view.getUint32(position, true);
    const hi = view.getUint32(position + 4, true);
    // The common case (a near struct pointer inside its segment) is checked inline.
    if ((lo & 3) === 0 && (lo | hi) !== 0 && depth <= this.nestingDepthMax) {
      const at = position + 8 + (lo >> 2) * 8;
      const dataWords = hi & 0xffff;
      const words = dataWords + (hi >>> 16);
      if (at >= this.segments[2 * seg] && at + words * 8 <= this.segments[2 * seg + 1]) {
        this.traversalWordsLeft -= words === 0 ? 1 : words;
        if (this.traversalWordsLeft < 0) this.charge(0);
        R.seg = seg;
        R.pos = at;
        R.dataBytes = dataWords * 8;
        R.ptrCount = hi >>> 16;
        return true;
      }
    }
    if (!this.resolve(seg, position, depth)) return false;
    if (R.kind !== 0) {
      throw new CapnpError(
        "bad_pointer",
        "Cannot read struct: the pointer is not a struct pointer",
      );
    }
    const dataWords = R.tagLow;
    const ptrCount = R.tagHigh;
    this.checkRange(R.pos, dataWords + ptrCount, "struct");
    this.charge(Math.max(1, dataWords + ptrCount));
    R.dataBytes = dataWords * 8;
    R.ptrCount = ptrCount;
    return true;
  }

  /**
   * Resolves a list pointer of the expected element encoding. Returns false for a null
   * pointer; otherwise sets `RESOLVED`'s `seg`, `pos`, `count` (and `step`, `dataBytes`,
   * `ptrCount` for composite lists) after checking the length against the bytes that exist and
   * the limits.
   */
  resolveList(
    seg: number,
    position: number,
    depth: number,
    kind: number,
    lengthMax: number,
  ): boolean {
    if (!this.resolve(seg, position, depth)) return false;
    if (R.kind !== 1) {
      throw new CapnpError("bad_pointer", "Cannot read list: the pointer is not a list pointer");
    }
    const elementSize = R.tagLow & 7;
    const count = R.tagHigh * 8192 + (R.tagLow >>> 3);
    if (elementSize !== kind) {
      throw new CapnpError(
        "bad_pointer",
        `Cannot read list: element size ${elementSize} where ${kind} is expected`,
      );
    }
    if (kind === LIST_KIND.composite) return this.resolveComposite(count, lengthMax);
    const words = kind === LIST_KIND.byte ? Math.ceil(count / 8) : count;
    this.checkRange(R.pos, words, "list");
    // Text and Data are byte lists: their lengths are bytes, bounded by the field's own limit
    // and the message size, not by the element-count limit of ReadLimits.
    if (kind === LIST_KIND.byte) {
      if (count > lengthMax) {
        throw new CapnpError("too_large", `Cannot read data: ${count} bytes exceed ${lengthMax}`);
      }
    } else {
      this.checkLength(count, lengthMax);
    }
    this.charge(words);
    R.count = count;
    return true;
  }

  private resolveComposite(wordCount: number, lengthMax: number): boolean {
    const tagPos = R.pos;
    this.checkRange(tagPos, 1 + wordCount, "list");
    const tagLo = this.view.getUint32(tagPos, true);
    const tagHi = this.view.getUint32(tagPos + 4, true);
    if ((tagLo & 3) !== 0) {
      throw new CapnpError("bad_pointer", "Cannot read list: the composite tag is not a struct");
    }
    const count = tagLo >>> 2;
    const dataWords = tagHi & 0xffff;
    const ptrCount = tagHi >>> 16;
    const elementWords = dataWords + ptrCount;
    if (elementWords * count > wordCount) {
      throw new CapnpError(
        "bad_pointer",
        `Cannot read list: ${count} elements of ${elementWords} words exceed ${wordCount} words`,
      );
    }
    this.checkLength(count, lengthMax);
    // Zero-sized elements cost one word each, so a tiny message cannot declare a huge list.
    this.charge(elementWords === 0 ? count + 1 : wordCount + 1);
    R.pos = tagPos + 8;
    R.count = count;
    R.step = elementWords * 8;
    R.dataBytes = dataWords * 8;
    R.ptrCount = ptrCount;
    return true;
  }

  /**
   * Reads the pointer at `position` and follows far pointers (one landing pad, or a double-far
   * pad with its tag). Leaves the tag and the target in `RESOLVED`.
   */
  private resolve(seg: number, position: number, depth: number): boolean {
    if (depth > this.nestingDepthMax) {
      throw new CapnpError(
        "too_deep",
        `Cannot read message: nesting depth exceeds ${this.nestingDepthMax}`,
      );
    }
    const view = this.view;
    const lo = view.getUint32(position, true);
    const hi = view.getUint32(position + 4, true);
    if (lo === 0 && hi === 0) return false;
    const kind = lo & 3;
    if (kind === 3) {
      throw new CapnpError("bad_pointer", "Cannot read pointer: capabilities are not supported");
    }
    if (kind !== 2) {
      setTag(lo, hi);
      R.seg = seg;
      R.pos = position + 8 + (lo >> 2) * 8;
      return true;
    }
    resolveFar(this.view, this.segments, lo, hi);
    return true;
  }

  private checkRange(position: number, words: number, what: string): void {
    const seg = R.seg;
    if (position < this.segments[2 * seg] || position + words * 8 > this.segments[2 * seg + 1]) {
      throw new CapnpError(
        "bad_pointer",
        `Cannot read ${what}: ${words} words at byte ${position} are outside segment ${seg}`,
      );
    }
  }

  private checkLength(count: number, lengthMax: number): void {
    const max = Math.min(lengthMax, this.listLengthMax);
    if (count > max) {
      throw new CapnpError("too_large", `Cannot read list: length ${count} exceeds ${max}`);
    }
  }

  private charge(words: number): void {
    this.traversalWordsLeft -= words;
    if (this.traversalWordsLeft < 0) {
      throw new CapnpError("traversal_exceeded", "Cannot read message: traversal limit reached");
    }
  }
}

/**
 * The words a decode of a message of `bodyWords` may read: `amplificationMax` times the
 * message, at least {@link TRAVERSAL_WORDS_MIN}, at most `traversalWordsMax`.
 */
function traversalBudget(bodyWords: number, limits: ReadLimits): number {
  const amplification = limits.amplificationMax ?? READ_LIMITS_DEFAULT.amplificationMax;
  const max = limits.traversalWordsMax ?? READ_LIMITS_DEFAULT.traversalWordsMax;
  const budget = Math.max(TRAVERSAL_WORDS_MIN, Math.ceil(bodyWords * amplification));
  return Math.min(max, budget);
}
