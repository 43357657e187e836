/**
 * Every limit of the HTTP/2 engine, with its default and the reason for it, and the bound on
 * the memory one connection can make the service hold.
 *
 * ## Memory one connection can hold (outside the pool)
 *
 * The engine buffers nothing per stream: DATA payloads are handed to the handler straight from
 * the read buffer, and response bodies are copied from the caller's memory into the output
 * buffer only as far as the peer's windows and the buffer's room allow. What one connection
 * holds is therefore bounded by fixed buffers plus per-stream state:
 *
 * ```
 * M = readBufferBytes                        one reused read buffer
 *   + outputBufferBytes                      one output buffer (appended to while a write is in flight)
 *   + headerBlockBytesMax                    one header block assembled across CONTINUATION frames
 *   + K * headerTableBytes                   the HPACK decoder's dynamic table
 *   + K * headerListBytesMax                 the fields of the one block being decoded
 *   + K * heldHeadBytesMax                   the heads of the open streams (sum, capped)
 *   + K * HEAD_CACHE_BYTES                   the cache of repeated request heads
 *   + maxConcurrentStreams * STREAM_STATE_BYTES   stream objects
 *   + RESPONSE_CACHE_BYTES + CLOSED_STREAMS_BYTES  encoded response heads, recently closed IDs
 * ```
 *
 * Header sizes are counted as RFC 9113 §6.5.2 does (name + value + 32 per field); K = 3 turns
 * that into JavaScript heap bytes (a field costs at most ~96 bytes of objects besides its
 * characters, and at least 32 are counted). With the defaults M ≈ 735 KiB at worst; an ordinary
 * RPC connection holds about 70 KiB (its two buffers and a few small heads).
 * `h2ConnectionMemoryBoundBytes` computes M; the connection's `heldBytes` is its own
 * accounting of the same terms, which tests check against M.
 *
 * @module
 */

import {
  HEAD_CACHE_BLOCK_BYTES_MAX,
  HEAD_CACHE_ENTRY_COUNT_MAX,
  HEAD_CACHE_HEAD_BYTES_MAX,
} from "./head_cache.ts";
import { FRAME_HEADER_BYTES, FRAME_SIZE_MIN_BYTES, WINDOW_MAX_BYTES } from "./frame.ts";

/** Every limit of one HTTP/2 connection. */
export interface H2Limits {
  /** The read buffer; frames are parsed in place from it, so it holds at least one whole frame. */
  readonly readBufferBytes: number;
  /** The output buffer: every frame produced while handling a read goes out in one write. */
  readonly outputBufferBytes: number;
  /** Our SETTINGS_MAX_FRAME_SIZE: the largest frame payload the peer may send. */
  readonly maxFrameSizeBytes: number;
  /** Our SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the peer's encoder may fill. */
  readonly headerTableBytes: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE: a decoded request head larger than this gets a 431. */
  readonly headerListBytesMax: number;
  /** The compressed bytes of one header block across HEADERS and CONTINUATION frames. */
  readonly headerBlockBytesMax: number;
  /** Our SETTINGS_MAX_CONCURRENT_STREAMS; streams over it are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** The sum of the open streams' head sizes; a stream that would pass it is refused. */
  readonly heldHeadBytesMax: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: what a stream may send before the handler grants more. */
  readonly initialWindowBytes: number;
  /** The connection receive window, replenished as payloads are consumed. */
  readonly connectionWindowBytes: number;
  /** Streams one connection may open before a graceful GOAWAY (the ID space allows 2^30). */
  readonly streamsPerConnectionMax: number;
  /** A connection with no open stream is closed (GOAWAY NO_ERROR) after this. */
  readonly idleTimeoutMs: number;
  /** The preface, any partly received frame and any header block must complete within this. */
  readonly headerBlockTimeoutMs: number;
  /** Our SETTINGS must be acknowledged within this (else GOAWAY SETTINGS_TIMEOUT). */
  readonly settingsAckTimeoutMs: number;
  /** A response that cannot progress (zero window) or a write that does not complete, this long, fails. */
  readonly writeStallTimeoutMs: number;
  /**
   * A stream answered early whose short upload still fits the peer's window may finish it for
   * this long (dropped) before it is reset with NO_ERROR.
   */
  readonly lingerTimeoutMs: number;
  /** `shutdown` lets streams in flight finish for at most this long. */
  readonly drainTimeoutMs: number;
  /** The interval over which the flood counters below are counted. */
  readonly floodIntervalMs: number;
  /** RST_STREAM frames from the peer per interval (rapid reset, CVE-2023-44487). */
  readonly resetsPerIntervalMax: number;
  /** PING frames per interval. */
  readonly pingsPerIntervalMax: number;
  /** SETTINGS frames per interval. */
  readonly settingsPerIntervalMax: number;
  /** DATA frames with no payload and no END_STREAM per interval. */
  readonly emptyDataPerIntervalMax: number;
  /** WINDOW_UPDATE frames per interval, besides one per DATA frame we sent. */
  readonly windowUpdatesPerIntervalMax: number;
  /** PRIORITY and PRIORITY_UPDATE frames per interval. */
  readonly prioritiesPerIntervalMax: number;
  /** Streams refused (over the concurrency or head-bytes caps) per interval. */
  readonly refusedStreamsPerIntervalMax: number;
  /** Stream errors we answered (RST_STREAM for a peer's mistake) per interval. */
  readonly streamErrorsPerIntervalMax: number;
}

/**
 * The defaults and why:
 * - Buffers of 32 KiB: a read holds one largest frame (16 KiB + 9) and more; a write carries
 *   two largest DATA frames or hundreds of small answers.
 * - Frame size 16 KiB (the minimum): a larger frame would need a larger read buffer.
 * - Table 4 KiB, head 16 KiB: the RFC's default table, and the plaintext port's head limit.
 * - 100 concurrent streams (RFC 9113 §6.5.2 advises at least 100), and at most 128 KiB of
 *   heads held by them together: a typical RPC head is ~500 bytes, so 100 streams fit, while a
 *   client cannot make one connection hold 100 heads of 16 KiB.
 * - Initial stream window 16 KiB: a small call's body goes out without waiting for a
 *   WINDOW_UPDATE, and a stream nobody granted more can make the service see at most that.
 * - Connection window 1 MiB: enough for several streams to upload at once at loopback speed;
 *   the bytes never wait in our memory (they are consumed as read).
 * - Timeouts as the plaintext port's (idle 30 s, head 10 s, write 10 s) and 10 s for the
 *   SETTINGS ACK; drain 30 s.
 * - Flood caps per second, far above what browsers, curl, gRPC or h2load send, far below what
 *   costs the service noticeable CPU.
 */
export const H2_LIMITS_DEFAULT: H2Limits = Object.freeze({
  readBufferBytes: 32 * 1024,
  outputBufferBytes: 32 * 1024,
  maxFrameSizeBytes: FRAME_SIZE_MIN_BYTES,
  headerTableBytes: 4096,
  headerListBytesMax: 16 * 1024,
  headerBlockBytesMax: 16 * 1024,
  maxConcurrentStreams: 100,
  heldHeadBytesMax: 128 * 1024,
  initialWindowBytes: 16 * 1024,
  connectionWindowBytes: 1024 * 1024,
  streamsPerConnectionMax: 2 ** 30,
  idleTimeoutMs: 30_000,
  headerBlockTimeoutMs: 10_000,
  settingsAckTimeoutMs: 10_000,
  writeStallTimeoutMs: 10_000,
  lingerTimeoutMs: 2_000,
  drainTimeoutMs: 30_000,
  floodIntervalMs: 1000,
  resetsPerIntervalMax: 200,
  pingsPerIntervalMax: 500,
  settingsPerIntervalMax: 50,
  emptyDataPerIntervalMax: 200,
  windowUpdatesPerIntervalMax: 2000,
  prioritiesPerIntervalMax: 500,
  refusedStreamsPerIntervalMax: 100,
  streamErrorsPerIntervalMax: 100,
});

/** Heap bytes of one stream's own objects (its state and head object), an upper estimate. */
export const STREAM_STATE_BYTES = 512;
/** Heap bytes per counted header byte (see the module doc). */
export const HEAP_BYTES_PER_HEADER_BYTE = 3;
/** The request-head cache at its fullest. */
export const HEAD_CACHE_BYTES = HEAD_CACHE_ENTRY_COUNT_MAX *
  (HEAD_CACHE_BLOCK_BYTES_MAX + HEAD_CACHE_HEAD_BYTES_MAX);
/** The response-head encoder at its fullest: 16 blocks of 512 bytes, their keys, its scratch. */
export const RESPONSE_CACHE_BYTES = 16 * (512 + 1024) + 1024;
/** Recently closed stream IDs remembered (to tell a late frame from a protocol error). */
export const CLOSED_STREAMS_REMEMBERED = 256;
/** Their cost: a Map entry each. */
export const CLOSED_STREAMS_BYTES = CLOSED_STREAMS_REMEMBERED * 64;

/**
 * The memory one connection can make the service hold under `limits` (the module doc's M).
 *
 * @example
 * ```ts
 * h2ConnectionMemoryBoundBytes(H2_LIMITS_DEFAULT); // 752,640 (≈ 735 KiB)
 * ```
 */
export function h2ConnectionMemoryBoundBytes(limits: H2Limits): number {
  return limits.readBufferBytes + limits.outputBufferBytes + limits.headerBlockBytesMax +
    HEAP_BYTES_PER_HEADER_BYTE *
      (limits.headerTableBytes + limits.headerListBytesMax + limits.heldHeadBytesMax +
        HEAD_CACHE_BYTES) +
    limits.maxConcurrentStreams * STREAM_STATE_BYTES + RESPONSE_CACHE_BYTES +
    CLOSED_STREAMS_BYTES;
}

/**
 * The defaults with `overrides` applied, each checked: positive safe integers; the read buffer
 * holds a whole frame; the frame size and windows within RFC 9113's ranges.
 *
 * @example
 * ```ts
 * const limits = h2Limits({ maxConcurrentStreams: 8, idleTimeoutMs: 5000 });
 * ```
 */
export function h2Limits(overrides: Partial<H2Limits> = {}): H2Limits {
  const limits = { ...H2_LIMITS_DEFAULT, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot use HTTP/2 limits: ${name} ${value} is not a positive integer`);
    }
  }
  const fail = (what: string) => {
    throw new RangeError(`Cannot use HTTP/2 limits: ${what}`);
  };
  if (limits.maxFrameSizeBytes < FRAME_SIZE_MIN_BYTES || limits.maxFrameSizeBytes > 2 ** 24 - 1) {
    fail(`maxFrameSizeBytes ${limits.maxFrameSizeBytes} is outside 16384..2^24-1`);
  }
  if (limits.readBufferBytes < limits.maxFrameSizeBytes + FRAME_HEADER_BYTES) {
    fail(`readBufferBytes ${limits.readBufferBytes} cannot hold a frame of maxFrameSizeBytes`);
  }
  if (limits.outputBufferBytes < 4096) fail(`outputBufferBytes ${limits.outputBufferBytes} < 4096`);
  for (const name of ["initialWindowBytes", "connectionWindowBytes"] as const) {
    if (limits[name] > WINDOW_MAX_BYTES) fail(`${name} ${limits[name]} exceeds 2^31-1`);
  }
  if (limits.headerTableBytes > 2 ** 24) fail(`headerTableBytes ${limits.headerTableBytes} > 2^24`);
  return Object.freeze(limits);
}
