/**
 * SETTINGS (RFC 9113 §6.5): parameter identifiers, the peer's settings as the connection uses
 * them, the checks of §6.5.2 on every received value, and our own SETTINGS frame.
 *
 * @example
 * ```ts
 * import { PeerSettings, applySettingsPayload, encodeSettingsFrame, SETTING } from "./settings.ts";
 * const peer = new PeerSettings();
 * const frame = encodeSettingsFrame([[SETTING.INITIAL_WINDOW_SIZE, 0]]);
 * applySettingsPayload(frame, 9, frame.length - 9, peer); // peer.initialWindowBytes === 0
 * ```
 * @module
 */

import { H2Error } from "./errors.ts";
import type { H2Limits } from "./limits.ts";
import {
  FRAME_HEADER_BYTES,
  FRAME_SIZE_MAX_BYTES,
  FRAME_SIZE_MIN_BYTES,
  FRAME_TYPE,
  readU32,
  WINDOW_MAX_BYTES,
  writeFrameHeader,
  writeU32,
} from "./frame.ts";

/** SETTINGS parameter identifiers (RFC 9113 §6.5.2; RFC 8441 §3; RFC 9218 §2.1). */
export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
  NO_RFC7540_PRIORITIES: 0x9,
} as const;

/** Initial values before any SETTINGS (RFC 9113 §6.5.2). */
export const SETTINGS_INITIAL = Object.freeze({
  headerTableBytes: 4096,
  initialWindowBytes: 65535,
  maxFrameSizeBytes: 16384,
  /** The connection window starts at 65,535 and changes only by WINDOW_UPDATE (§6.9.2). */
  connectionWindowBytes: 65535,
});

const SETTING_ENTRY_BYTES = 6;

/**
 * The peer's settings that bind us (what we may send). MAX_CONCURRENT_STREAMS binds only
 * streams we would open (none: no server push) and ENABLE_PUSH is kept only to check it.
 *
 * @example
 * ```ts
 * const peer = new PeerSettings();
 * peer.maxFrameSizeBytes; // 16384
 * ```
 */
export class PeerSettings {
  /** The peer decoder's dynamic table size (bounds what our encoder may use). */
  headerTableBytes: number = SETTINGS_INITIAL.headerTableBytes;
  /** The initial send window of each stream we answer on. */
  initialWindowBytes: number = SETTINGS_INITIAL.initialWindowBytes;
  /** The largest frame payload we may send. */
  maxFrameSizeBytes: number = SETTINGS_INITIAL.maxFrameSizeBytes;
  /** Advisory (RFC 9113 §6.5.2); -1 for unlimited. */
  maxHeaderListBytes = -1;
  /** Times a HEADER_TABLE_SIZE setting was received (the encoder re-signals its size). */
  headerTableChanges = 0;
}

/**
 * Applies one SETTINGS payload (`length` bytes at `at`) to `peer`, checking each value as
 * RFC 9113 §6.5.2 says: ENABLE_PUSH 0/1 (PROTOCOL_ERROR), INITIAL_WINDOW_SIZE ≤ 2^31-1
 * (FLOW_CONTROL_ERROR), MAX_FRAME_SIZE within 2^14..2^24-1 (PROTOCOL_ERROR). Unknown
 * identifiers are ignored. Returns the change of the initial window (to apply to open streams).
 *
 * @example
 * ```ts
 * const windowDelta = applySettingsPayload(buf, at, header.length, peer);
 * ```
 */
export function applySettingsPayload(
  buf: Uint8Array,
  at: number,
  length: number,
  peer: PeerSettings,
): number {
  const windowBefore = peer.initialWindowBytes;
  for (let offset = at; offset < at + length; offset += SETTING_ENTRY_BYTES) {
    const id = (buf[offset] << 8) | buf[offset + 1];
    const value = readU32(buf, offset + 2);
    switch (id) {
      case SETTING.HEADER_TABLE_SIZE:
        peer.headerTableBytes = value;
        peer.headerTableChanges++;
        break;
      case SETTING.ENABLE_PUSH:
        if (value > 1) throw new H2Error("PROTOCOL_ERROR", `SETTINGS_ENABLE_PUSH ${value}`);
        break;
      case SETTING.INITIAL_WINDOW_SIZE:
        if (value > WINDOW_MAX_BYTES) {
          throw new H2Error("FLOW_CONTROL_ERROR", `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        }
        peer.initialWindowBytes = value;
        break;
      case SETTING.MAX_FRAME_SIZE:
        if (value < FRAME_SIZE_MIN_BYTES || value > FRAME_SIZE_MAX_BYTES) {
          throw new H2Error("PROTOCOL_ERROR", `SETTINGS_MAX_FRAME_SIZE ${value}`);
        }
        peer.maxFrameSizeBytes = value;
        break;
      case SETTING.MAX_HEADER_LIST_SIZE:
        peer.maxHeaderListBytes = value;
        break;
    }
  }
  return peer.initialWindowBytes - windowBefore;
}

/** One SETTINGS parameter: [identifier, value]. */
export type SettingEntry = readonly [id: number, value: number];

/**
 * A SETTINGS frame with `entries` (each a u16 identifier and a u32 value).
 *
 * @example
 * ```ts
 * encodeSettingsFrame([[SETTING.MAX_CONCURRENT_STREAMS, 100]]); // 15 bytes
 * ```
 */
export function encodeSettingsFrame(entries: readonly SettingEntry[]): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + entries.length * SETTING_ENTRY_BYTES);
  let at = writeFrameHeader(out, 0, out.length - FRAME_HEADER_BYTES, FRAME_TYPE.SETTINGS, 0, 0);
  for (const [id, value] of entries) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) {
      throw new RangeError(`Cannot encode SETTINGS: identifier ${id} is not a u16`);
    }
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`Cannot encode SETTINGS: value ${value} is not a u32`);
    }
    out[at] = id >>> 8;
    out[at + 1] = id & 0xff;
    writeU32(out, at + 2, value);
    at += SETTING_ENTRY_BYTES;
  }
  return out;
}

/**
 * Our SETTINGS (RFC 9113 §3.4: the server's first frame): no push, and our limits; the table
 * and frame sizes only when they differ from the defaults.
 *
 * @example
 * ```ts
 * encodeSettingsFrame(localSettings(h2Limits()));
 * ```
 */
export function localSettings(limits: H2Limits): SettingEntry[] {
  const settings: SettingEntry[] = [
    [SETTING.ENABLE_PUSH, 0],
    [SETTING.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
    [SETTING.INITIAL_WINDOW_SIZE, limits.initialWindowBytes],
    [SETTING.MAX_HEADER_LIST_SIZE, limits.headerListBytesMax],
  ];
  if (limits.headerTableBytes !== SETTINGS_INITIAL.headerTableBytes) {
    settings.push([SETTING.HEADER_TABLE_SIZE, limits.headerTableBytes]);
  }
  if (limits.maxFrameSizeBytes !== SETTINGS_INITIAL.maxFrameSizeBytes) {
    settings.push([SETTING.MAX_FRAME_SIZE, limits.maxFrameSizeBytes]);
  }
  return settings;
}
