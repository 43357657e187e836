/**
 * QUIC variable-length integers (RFC 9000 §16), as used by every HTTP/3 frame, stream type and
 * setting.
 *
 * A varint takes 1, 2, 4 or 8 bytes; the two high bits of the first byte give the length. Values
 * run up to 2^62-1. This module decodes into a `number`: values up to `Number.MAX_SAFE_INTEGER`
 * (2^53-1) are exact; larger ones come out rounded but still above `Number.MAX_SAFE_INTEGER`, so
 * every limit check a caller makes against a real limit refuses them. Callers that need the exact
 * value (for example to echo a GREASE identifier) use {@link readVarintBigInt}.
 *
 * Decoding never throws on truncation: it returns `undefined` ("need more bytes").
 *
 * @example
 * ```ts
 * import { encodeVarint, readVarint } from "./varint.ts";
 * const bytes = encodeVarint(15293); // Uint8Array [0x7b, 0xbd]
 * const read = readVarint(bytes, 0); // { value: 15293, lengthBytes: 2 }
 * const partial = readVarint(bytes.subarray(0, 1), 0); // undefined: need more bytes
 * ```
 * @module
 */

/** The largest value a QUIC varint can hold: 2^62-1. */
export const VARINT_VALUE_MAX_BIGINT = (1n << 62n) - 1n;

/** The largest varint value that this module encodes from a `number` exactly. */
export const VARINT_NUMBER_MAX = Number.MAX_SAFE_INTEGER;

/** A decoded varint: its value and how many bytes it took. */
export interface VarintRead {
  /** The value; exact up to `Number.MAX_SAFE_INTEGER`, rounded (and larger) beyond. */
  value: number;
  /** 1, 2, 4 or 8. */
  lengthBytes: 1 | 2 | 4 | 8;
}

/**
 * The encoded length of the varint that starts with `firstByte`.
 *
 * @example
 * ```ts
 * varintLengthFromFirstByte(0xc2); // 8
 * ```
 */
export function varintLengthFromFirstByte(firstByte: number): 1 | 2 | 4 | 8 {
  return (1 << (firstByte >> 6)) as 1 | 2 | 4 | 8;
}

/**
 * The value of the varint in `bytes[start..end)`, whose length the caller already checked
 * (`end - start` is `varintLengthFromFirstByte(bytes[start])` and within `bytes`). Allocates
 * nothing, unlike {@link readVarint}.
 *
 * @example
 * ```ts
 * varintValueAt(new Uint8Array([0x40, 0x25]), 0, 2); // 37
 * ```
 */
export function varintValueAt(bytes: Uint8Array, start: number, end: number): number {
  let value = bytes[start] & 0x3f;
  // Multiplication instead of shifts: shifts are 32-bit in JavaScript.
  for (let i = start + 1; i < end; i++) value = value * 256 + bytes[i];
  return value;
}

/**
 * Reads one varint at `offset`; `undefined` when `bytes` ends before the varint does.
 *
 * @example
 * ```ts
 * readVarint(new Uint8Array([0x25]), 0); // { value: 37, lengthBytes: 1 }
 * ```
 */
export function readVarint(bytes: Uint8Array, offset: number): VarintRead | undefined {
  if (offset >= bytes.length) return undefined;
  const first = bytes[offset];
  const lengthBytes = varintLengthFromFirstByte(first);
  if (offset + lengthBytes > bytes.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < lengthBytes; i++) {
    // Multiplication instead of shifts: shifts are 32-bit in JavaScript.
    value = value * 256 + bytes[offset + i];
  }
  return { value, lengthBytes };
}

/**
 * Reads one varint at `offset` exactly, as a bigint; `undefined` when truncated.
 *
 * @example
 * ```ts
 * readVarintBigInt(new Uint8Array([0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]), 0);
 * // { value: 151288809941952652n, lengthBytes: 8 }
 * ```
 */
export function readVarintBigInt(
  bytes: Uint8Array,
  offset: number,
): { value: bigint; lengthBytes: 1 | 2 | 4 | 8 } | undefined {
  if (offset >= bytes.length) return undefined;
  const lengthBytes = varintLengthFromFirstByte(bytes[offset]);
  if (offset + lengthBytes > bytes.length) return undefined;
  let value = BigInt(bytes[offset] & 0x3f);
  for (let i = 1; i < lengthBytes; i++) value = (value << 8n) | BigInt(bytes[offset + i]);
  return { value, lengthBytes };
}

/**
 * The minimal encoded length of `value`.
 *
 * @example
 * ```ts
 * varintLength(16383); // 2
 * ```
 */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  checkEncodable(value);
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/**
 * Writes `value` at `offset` in its minimal length; returns the offset after it.
 * Throws RangeError when `bytes` is too short or the value is not encodable.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(8);
 * writeVarint(out, 0, 494878333); // 4
 * ```
 */
export function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  const lengthBytes = varintLength(value);
  if (offset + lengthBytes > bytes.length) {
    throw new RangeError(
      `Cannot encode varint: needs ${lengthBytes} bytes at offset ${offset}, buffer is ${bytes.length}`,
    );
  }
  let rest = value;
  for (let i = lengthBytes - 1; i > 0; i--) {
    bytes[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  const prefix = [0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0][lengthBytes - 1];
  bytes[offset] = prefix | rest;
  return offset + lengthBytes;
}

/**
 * Encodes `value` in its minimal length into a new array.
 *
 * @example
 * ```ts
 * encodeVarint(37); // Uint8Array [0x25]
 * ```
 */
export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}

/**
 * Encodes a bigint value up to 2^62-1 in its minimal length.
 *
 * @example
 * ```ts
 * encodeVarintBigInt(151288809941952652n).length; // 8
 * ```
 */
export function encodeVarintBigInt(value: bigint): Uint8Array {
  if (value < 0n || value > VARINT_VALUE_MAX_BIGINT) {
    throw new RangeError(`Cannot encode varint: ${value} is outside 0..2^62-1`);
  }
  if (value <= BigInt(VARINT_NUMBER_MAX)) return encodeVarint(Number(value));
  const out = new Uint8Array(8);
  let rest = value;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  out[0] |= 0xc0;
  return out;
}

function checkEncodable(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot encode varint: ${value} is not an integer in 0..${VARINT_NUMBER_MAX}`,
    );
  }
}
