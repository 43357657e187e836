/**
 * The HPACK/QPACK Huffman code (RFC 7541 Appendix B, used by RFC 9204 §4.1.2): table-driven
 * decode and encode of string literals. One implementation serves both `http2/` (HPACK) and
 * `http3/` (QPACK).
 *
 * The code is canonical, so it is stored as the code length of each of the 257 symbols (256
 * octets + EOS); the codes follow from the lengths. Decoding walks a 4-bit state machine built
 * once at load (16 transitions per internal tree node), so each input byte costs two table
 * lookups. Decoding refuses the EOS symbol, padding longer than 7 bits and padding that is not
 * all ones (RFC 7541 §5.2), by returning `undefined`; callers turn that into their own error code
 * (QPACK_DECOMPRESSION_FAILED or QPACK_ENCODER_STREAM_ERROR in QPACK, COMPRESSION_ERROR in
 * HPACK).
 *
 * @example
 * ```ts
 * import { huffmanDecode, huffmanEncode } from "./huffman.ts";
 * const encoded = huffmanEncode(new TextEncoder().encode("www.example.com"));
 * // Uint8Array [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]
 * new TextDecoder().decode(huffmanDecode(encoded)); // "www.example.com"
 * ```
 * @module
 */

/** Code length in bits of symbols 0..256 (256 is EOS), RFC 7541 Appendix B. */
// deno-fmt-ignore
const CODE_LENGTHS_BITS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, // 256: EOS
];

const EOS = 256;

/** Canonical codes: shorter codes first, equal lengths in symbol order (RFC 7541 App. B). */
function canonicalCodes(lengths: readonly number[]): number[] {
  const order = lengths.map((_, symbol) => symbol).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const codes = new Array<number>(lengths.length).fill(0);
  let code = 0;
  let previousLength = lengths[order[0]];
  for (const symbol of order) {
    code *= 2 ** (lengths[symbol] - previousLength);
    previousLength = lengths[symbol];
    codes[symbol] = code;
    code++;
  }
  return codes;
}

/** Huffman code of each symbol, right-aligned (e.g. EOS is 0x3fffffff). */
export const HUFFMAN_CODES: readonly number[] = canonicalCodes(CODE_LENGTHS_BITS);
/** Code length of each symbol in bits. */
export const HUFFMAN_LENGTHS_BITS: readonly number[] = CODE_LENGTHS_BITS;

// Decoder state machine. States are internal nodes of the code tree, numbered from 0 (root).
// For state s and nibble n, entry s*16+n holds: next state (bits 0-8), emitted symbol + 1 (bits
// 9-17, 0 = none), FAIL (bit 18: EOS was decoded), ACCEPT (bit 19: the next state is a valid
// place to end, i.e. the root or an all-ones prefix of at most 7 bits).
const FLAG_FAIL = 1 << 18;
const FLAG_ACCEPT = 1 << 19;

function buildDecodeTable(): Uint32Array {
  // Build the tree: children[node*2 + bit] = child index; leaves stored as -(symbol + 1).
  const children: number[] = [0, 0];
  let nodeCount = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    let node = 0;
    const length = CODE_LENGTHS_BITS[symbol];
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(HUFFMAN_CODES[symbol] / 2 ** i) & 1;
      if (i === 0) {
        children[node * 2 + bit] = -(symbol + 1);
      } else {
        if (children[node * 2 + bit] === 0) {
          children[node * 2 + bit] = nodeCount++;
          children.push(0, 0);
        }
        node = children[node * 2 + bit];
      }
    }
  }
  // Nodes that lie on the all-ones path within 7 bits are valid padding states.
  const acceptable = new Set<number>([0]);
  for (let node = 0, depth = 0; depth < 7; depth++) {
    node = children[node * 2 + 1];
    acceptable.add(node);
  }
  const table = new Uint32Array(nodeCount * 16);
  for (let state = 0; state < nodeCount; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let emitted = 0;
      let fail = false;
      for (let i = 3; i >= 0; i--) {
        const child = children[node * 2 + ((nibble >> i) & 1)];
        if (child < 0) {
          if (-child - 1 === EOS) fail = true;
          emitted = -child; // symbol + 1; codes are >= 5 bits so at most one per nibble
          node = 0;
        } else {
          node = child;
        }
      }
      table[state * 16 + nibble] = node | (emitted << 9) | (fail ? FLAG_FAIL : 0) |
        (acceptable.has(node) ? FLAG_ACCEPT : 0);
    }
  }
  return table;
}

const DECODE_TABLE = buildDecodeTable();

/**
 * Decodes a Huffman-coded string; `undefined` when the input is not a valid encoding (EOS
 * inside, padding over 7 bits or not all ones). The output is at most `encoded.length * 8 / 5`
 * bytes, so callers bound the output by bounding the input.
 *
 * @example
 * ```ts
 * huffmanDecode(new Uint8Array([0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf])); // bytes of "no-cache"
 * ```
 */
export function huffmanDecode(encoded: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(huffmanDecodedLengthMax(encoded.length));
  const length = huffmanDecodeInto(encoded, 0, encoded.length, out);
  return length < 0 ? undefined : out.subarray(0, length);
}

/**
 * The most bytes `encodedLength` Huffman-coded bytes can decode to (the shortest code is 5
 * bits): the room `huffmanDecodeInto` needs.
 *
 * @example
 * ```ts
 * huffmanDecodedLengthMax(5); // 8
 * ```
 */
export function huffmanDecodedLengthMax(encodedLength: number): number {
  return Math.floor((encodedLength * 8) / 5);
}

/**
 * Decodes `encoded[start, end)` into `out` from offset 0, without allocating (the HPACK
 * decoder's hot path); returns the decoded length, or -1 when the input is not a valid
 * encoding. `out` must have room for {@link huffmanDecodedLengthMax} of the input length.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(16);
 * huffmanDecodeInto(new Uint8Array([0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]), 0, 6, out); // 8
 * ```
 */
export function huffmanDecodeInto(
  encoded: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
): number {
  let outLength = 0;
  let state = 0;
  let entry = FLAG_ACCEPT;
  for (let i = start; i < end; i++) {
    const byte = encoded[i];
    entry = DECODE_TABLE[state * 16 + (byte >> 4)];
    if (entry & FLAG_FAIL) return -1;
    if (entry & 0x3fe00) out[outLength++] = ((entry >> 9) & 0x1ff) - 1;
    state = entry & 0x1ff;
    entry = DECODE_TABLE[state * 16 + (byte & 0x0f)];
    if (entry & FLAG_FAIL) return -1;
    if (entry & 0x3fe00) out[outLength++] = ((entry >> 9) & 0x1ff) - 1;
    state = entry & 0x1ff;
  }
  return (entry & FLAG_ACCEPT) === 0 ? -1 : outLength;
}

/**
 * The Huffman-coded length of `bytes` in bytes (to choose between Huffman and raw).
 *
 * @example
 * ```ts
 * huffmanEncodedLength(new TextEncoder().encode("no-cache")); // 6
 * ```
 */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += CODE_LENGTHS_BITS[bytes[i]];
  return Math.ceil(bits / 8);
}

/**
 * Huffman-encodes `bytes`, padding the last byte with the ones of the EOS prefix.
 *
 * @example
 * ```ts
 * huffmanEncode(new TextEncoder().encode("no-cache")); // Uint8Array [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]
 * ```
 */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes));
  let outLength = 0;
  // Pending bits live in `acc` (at most 7 + 30 = 37 bits, exact in a double).
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < bytes.length; i++) {
    const symbol = bytes[i];
    const length = CODE_LENGTHS_BITS[symbol];
    acc = acc * 2 ** length + HUFFMAN_CODES[symbol];
    accBits += length;
    while (accBits >= 8) {
      accBits -= 8;
      const scale = 2 ** accBits;
      const byte = Math.floor(acc / scale);
      out[outLength++] = byte;
      acc -= byte * scale;
    }
  }
  if (accBits > 0) out[outLength++] = (acc << (8 - accBits)) | (0xff >> accBits);
  return out;
}

/**
 * The Huffman-coded length in bytes of a ByteString (chars 0..255; others throw TypeError).
 *
 * @example
 * ```ts
 * huffmanEncodedLengthOfByteString("no-cache"); // 6
 * ```
 */
export function huffmanEncodedLengthOfByteString(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) {
      throw new TypeError(`Cannot encode field: char ${code} at ${i} is not a byte`);
    }
    bits += CODE_LENGTHS_BITS[code];
  }
  return Math.ceil(bits / 8);
}

/**
 * Huffman-encodes a ByteString into `out` at `offset` (which must have room for
 * {@link huffmanEncodedLengthOfByteString} bytes); returns the offset after it.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(6);
 * huffmanEncodeByteStringInto("no-cache", out, 0); // 6; out is a8 eb 10 64 9c bf
 * ```
 */
export function huffmanEncodeByteStringInto(text: string, out: Uint8Array, offset: number): number {
  let position = offset;
  let acc = 0;
  let accBits = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff;
    const length = CODE_LENGTHS_BITS[symbol];
    acc = acc * 2 ** length + HUFFMAN_CODES[symbol];
    accBits += length;
    while (accBits >= 8) {
      accBits -= 8;
      const scale = 2 ** accBits;
      const byte = Math.floor(acc / scale);
      out[position++] = byte;
      acc -= byte * scale;
    }
  }
  if (accBits > 0) out[position++] = (acc << (8 - accBits)) | (0xff >> accBits);
  return position;
}
