/**
 * Header blocks of one connection (RFC 9113 §4.3, §6.10): a block split over HEADERS and
 * CONTINUATION frames is assembled into one buffer, capped at `headerBlockBytesMax` bytes
 * (frame headers of CONTINUATION frames counted, so empty CONTINUATION frames are not free:
 * the CONTINUATION flood of CVE-2024-27316 ends at the cap); then every block, assembled or
 * whole in the read buffer, is decoded by the connection's HPACK decoder — through the cache
 * of repeated heads when it can be.
 *
 * @example
 * ```ts
 * const blocks = new HeaderBlocks(limits);
 * const parsed = blocks.decodeRequest(buf, start, end, streamId); // null: over the list cap
 * ```
 * @module
 */

import { H2Error, streamError } from "./errors.ts";
import { FRAME_HEADER_BYTES } from "./frame.ts";
import { HeadCache } from "./head_cache.ts";
import { type FieldSink, HpackDecoder } from "./hpack.ts";
import type { H2Limits } from "./limits.ts";
import { type ParsedHead, RequestHeadBuilder } from "./request_head.ts";

const DISCARD: FieldSink = { onField() {} };

/**
 * Assembly and decoding of header blocks.
 *
 * @example
 * ```ts
 * blocks.begin(1, true, false, buf, start, end, nowMs);
 * blocks.append(buf, start, end); // CONTINUATION
 * ```
 */
export class HeaderBlocks {
  readonly decoder: HpackDecoder;
  readonly builder = new RequestHeadBuilder();
  readonly cache = new HeadCache<ParsedHead>();
  /** The stream of the block being assembled, 0 when none is. */
  streamId = 0;
  /** The assembled block's HEADERS had END_STREAM. */
  endStream = false;
  /** The assembled block's HEADERS depended on its own stream. */
  selfDependent = false;
  /** When the assembled block's HEADERS arrived (clock ms). */
  startedAtMs = 0;
  /** Assembled bytes in `buffer`. */
  length = 0;
  #buffer: Uint8Array | null = null;
  #countedBytes = 0;
  readonly #bytesMax: number;

  constructor(limits: H2Limits) {
    this.decoder = new HpackDecoder({
      tableBytes: limits.headerTableBytes,
      headerListBytesMax: limits.headerListBytesMax,
    });
    this.#bytesMax = limits.headerBlockBytesMax;
  }

  /** The assembly buffer (allocated at the first split block, then kept). */
  get buffer(): Uint8Array {
    return this.#buffer ??= new Uint8Array(this.#bytesMax);
  }

  /** Bytes the assembly buffer takes (memory accounting). */
  get assemblyBytes(): number {
    return this.#buffer?.length ?? 0;
  }

  /** Starts a block whose HEADERS frame had no END_HEADERS. */
  begin(
    streamId: number,
    endStream: boolean,
    selfDependent: boolean,
    buf: Uint8Array,
    start: number,
    end: number,
    nowMs: number,
  ): void {
    this.streamId = streamId;
    this.endStream = endStream;
    this.selfDependent = selfDependent;
    this.startedAtMs = nowMs;
    this.length = 0;
    this.#countedBytes = 0;
    this.append(buf, start, end);
  }

  /** Adds a CONTINUATION fragment; past the cap it is a connection error ENHANCE_YOUR_CALM. */
  append(buf: Uint8Array, start: number, end: number): void {
    this.#countedBytes += FRAME_HEADER_BYTES + end - start;
    if (this.#countedBytes > this.#bytesMax) {
      throw new H2Error(
        "ENHANCE_YOUR_CALM",
        `header block of stream ${this.streamId} exceeds ${this.#bytesMax} bytes`,
      );
    }
    this.buffer.set(buf.subarray(start, end), this.length);
    this.length += end - start;
  }

  /** The assembled block is complete (its bytes stay in `buffer` until the next `begin`). */
  finish(): void {
    this.streamId = 0;
    this.startedAtMs = 0;
  }

  /**
   * Decodes a request block into a validated head (a stream error when malformed), or null when
   * its decoded size passed SETTINGS_MAX_HEADER_LIST_SIZE. A block that left the table as it
   * was is cached; a repeated block is not decoded again.
   */
  decodeRequest(buf: Uint8Array, start: number, end: number, streamId: number): ParsedHead | null {
    const decoder = this.decoder;
    const epoch = decoder.table.epoch;
    if (!decoder.sizeUpdateRequired) {
      const hit = this.cache.lookup(buf, start, end, epoch);
      if (hit !== undefined) return hit;
    }
    this.builder.reset();
    decoder.decode(buf, start, end, this.builder);
    if (decoder.tooLarge) return null;
    const parsed = this.builder.build(streamId);
    if (decoder.table.epoch === epoch) {
      this.cache.store(buf, start, end, decoder.usedDynamic ? epoch : -1, parsed, parsed.sizeBytes);
    }
    return parsed;
  }

  /** Decodes a trailers block (for the HPACK state) and checks it; the fields are dropped. */
  decodeTrailers(buf: Uint8Array, start: number, end: number, streamId: number): void {
    this.builder.reset();
    this.decoder.decode(buf, start, end, this.builder);
    if (this.decoder.tooLarge) {
      throw streamError("PROTOCOL_ERROR", streamId, "trailers exceed the header list size");
    }
    this.builder.checkTrailers(streamId);
  }

  /** Decodes a block only to keep the dynamic table in step (a refused or late block). */
  decodeDiscard(buf: Uint8Array, start: number, end: number): void {
    this.decoder.decode(buf, start, end, DISCARD);
  }
}
