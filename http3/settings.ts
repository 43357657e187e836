/**
 * HTTP/3 SETTINGS (RFC 9114 §7.2.4, RFC 9204 §5): parse a SETTINGS frame payload and serialize
 * the settings we send.
 *
 * Parsing enforces: no duplicate identifier (H3_SETTINGS_ERROR), no HTTP/2-only identifier
 * 0x02–0x05 (H3_SETTINGS_ERROR), a payload that ends exactly after a value (H3_FRAME_ERROR).
 * GREASE (0x1f*N+0x21) and other unknown identifiers are ignored. Values above
 * `Number.MAX_SAFE_INTEGER` are clamped to it: no limit in this project gets near it, so a
 * clamped value means "as large as you like".
 *
 * @example
 * ```ts
 * import { parseSettingsPayload, serializeSettingsPayload } from "./settings.ts";
 * const payload = serializeSettingsPayload({ qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16 });
 * const settings = parseSettingsPayload(payload);
 * settings.qpackMaxTableCapacity; // 4096
 * settings.maxFieldSectionSize; // Infinity (not sent)
 * ```
 * @module
 */

import { H3Error } from "./errors.ts";
import { readVarint, varintLength, writeVarint } from "./varint.ts";

/** Setting identifiers this project knows (RFC 9114 §7.2.4.1, RFC 9204 §5, RFC 9220). */
export const SETTING_ID = {
  QPACK_MAX_TABLE_CAPACITY: 0x01,
  MAX_FIELD_SECTION_SIZE: 0x06,
  QPACK_BLOCKED_STREAMS: 0x07,
  ENABLE_CONNECT_PROTOCOL: 0x08,
  H3_DATAGRAM: 0x33,
} as const;

/** HTTP/2 setting identifiers that must not appear in HTTP/3 (RFC 9114 §7.2.4.1). */
const HTTP2_ONLY_SETTING_IDS: ReadonlySet<number> = new Set([0x02, 0x03, 0x04, 0x05]);

/** Bounds the work on one SETTINGS payload: more entries than this is H3_EXCESSIVE_LOAD. */
export const SETTINGS_ENTRY_COUNT_MAX = 256;

/** The peer's (or our) settings with RFC defaults filled in. */
export interface Settings {
  /** QPACK dynamic table capacity the sender's decoder allows; default 0. */
  qpackMaxTableCapacity: number;
  /** Blocked streams the sender's decoder allows; default 0. */
  qpackBlockedStreams: number;
  /** The largest field section the sender accepts (RFC 9114 §4.2.2); default Infinity. */
  maxFieldSectionSize: number;
  /** RFC 9220 extended CONNECT; default false. */
  enableConnectProtocol: boolean;
}

/** The defaults that apply before (or without) a SETTINGS frame. */
export const SETTINGS_DEFAULT: Readonly<Settings> = Object.freeze({
  qpackMaxTableCapacity: 0,
  qpackBlockedStreams: 0,
  maxFieldSectionSize: Infinity,
  enableConnectProtocol: false,
});

/** Whether `id` is a reserved GREASE identifier 0x1f*N+0x21 (also used for frame types). */
export function isGreaseId(id: number): boolean {
  // Exact only up to 2^53; larger ids are unknown either way, which is how GREASE is treated.
  return id >= 0x21 && (id - 0x21) % 0x1f === 0;
}

/**
 * Parses a SETTINGS frame payload (without the frame header).
 *
 * @example
 * ```ts
 * parseSettingsPayload(new Uint8Array([0x01, 0x40, 0x64])).qpackMaxTableCapacity; // 100
 * ```
 */
export function parseSettingsPayload(payload: Uint8Array): Settings {
  const settings: Settings = { ...SETTINGS_DEFAULT };
  const seen = new Set<number>();
  let offset = 0;
  while (offset < payload.length) {
    if (seen.size >= SETTINGS_ENTRY_COUNT_MAX) {
      throw new H3Error(
        "H3_EXCESSIVE_LOAD",
        `SETTINGS has more than ${SETTINGS_ENTRY_COUNT_MAX} entries`,
      );
    }
    const id = readVarint(payload, offset);
    if (id === undefined) throw new H3Error("H3_FRAME_ERROR", "SETTINGS ends inside an identifier");
    offset += id.lengthBytes;
    const value = readVarint(payload, offset);
    if (value === undefined) throw new H3Error("H3_FRAME_ERROR", "SETTINGS ends inside a value");
    offset += value.lengthBytes;
    if (seen.has(id.value)) {
      throw new H3Error("H3_SETTINGS_ERROR", `duplicate setting 0x${id.value.toString(16)}`);
    }
    seen.add(id.value);
    if (HTTP2_ONLY_SETTING_IDS.has(id.value)) {
      throw new H3Error("H3_SETTINGS_ERROR", `HTTP/2 setting 0x${id.value.toString(16)}`);
    }
    applySetting(settings, id.value, Math.min(value.value, Number.MAX_SAFE_INTEGER));
  }
  return settings;
}

function applySetting(settings: Settings, id: number, value: number): void {
  switch (id) {
    case SETTING_ID.QPACK_MAX_TABLE_CAPACITY:
      settings.qpackMaxTableCapacity = value;
      return;
    case SETTING_ID.QPACK_BLOCKED_STREAMS:
      settings.qpackBlockedStreams = value;
      return;
    case SETTING_ID.MAX_FIELD_SECTION_SIZE:
      settings.maxFieldSectionSize = value;
      return;
    case SETTING_ID.ENABLE_CONNECT_PROTOCOL:
      if (value > 1) throw new H3Error("H3_SETTINGS_ERROR", `ENABLE_CONNECT_PROTOCOL is ${value}`);
      settings.enableConnectProtocol = value === 1;
      return;
    default:
      // Unknown and GREASE identifiers MUST be ignored (RFC 9114 §7.2.4.1).
      return;
  }
}

/**
 * Serializes settings into a SETTINGS payload. Only the fields given are sent (an absent field
 * means the RFC default); `grease: true` adds one reserved identifier so peers exercise their
 * "ignore unknown" path.
 *
 * @example
 * ```ts
 * serializeSettingsPayload({ qpackMaxTableCapacity: 0 }); // Uint8Array [0x01, 0x00]
 * ```
 */
export function serializeSettingsPayload(
  settings: Partial<Settings>,
  options: { grease?: boolean } = {},
): Uint8Array {
  const entries: Array<[number, number]> = [];
  if (settings.qpackMaxTableCapacity !== undefined) {
    entries.push([SETTING_ID.QPACK_MAX_TABLE_CAPACITY, settings.qpackMaxTableCapacity]);
  }
  if (settings.maxFieldSectionSize !== undefined && Number.isFinite(settings.maxFieldSectionSize)) {
    entries.push([SETTING_ID.MAX_FIELD_SECTION_SIZE, settings.maxFieldSectionSize]);
  }
  if (settings.qpackBlockedStreams !== undefined) {
    entries.push([SETTING_ID.QPACK_BLOCKED_STREAMS, settings.qpackBlockedStreams]);
  }
  if (settings.enableConnectProtocol) entries.push([SETTING_ID.ENABLE_CONNECT_PROTOCOL, 1]);
  if (options.grease) entries.push([0x1f * 7 + 0x21, 0x2a]);
  let lengthBytes = 0;
  for (const [id, value] of entries) lengthBytes += varintLength(id) + varintLength(value);
  const out = new Uint8Array(lengthBytes);
  let offset = 0;
  for (const [id, value] of entries) {
    offset = writeVarint(out, offset, id);
    offset = writeVarint(out, offset, value);
  }
  return out;
}
