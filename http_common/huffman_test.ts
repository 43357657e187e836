import assert from "@std/assert";
import {
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS_BITS,
  huffmanDecode,
  huffmanDecodedLengthMax,
  huffmanDecodeInto,
  huffmanEncode,
  huffmanEncodeByteStringInto,
  huffmanEncodedLength,
  huffmanEncodedLengthOfByteString,
} from "./huffman.ts";

const encoder = new TextEncoder();
const hex = (text: string) => new Uint8Array(text.match(/../g)!.map((b) => parseInt(b, 16)));

// RFC 7541 Appendix C.4 and C.6 Huffman-coded strings.
const RFC_CASES: Array<[string, string]> = [
  ["www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"],
  ["no-cache", "a8eb10649cbf"],
  ["custom-key", "25a849e95ba97d7f"],
  ["custom-value", "25a849e95bb8e8b4bf"],
  ["302", "6402"],
  ["private", "aec3771a4b"],
  ["Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"],
  ["https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"],
  [
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
  ],
];

Deno.test("huffman: the code table is a complete prefix code with the RFC's known codes", () => {
  let kraft = 0;
  for (const length of HUFFMAN_LENGTHS_BITS) kraft += 2 ** -length;
  assert.equal(kraft, 1);
  assert.equal(HUFFMAN_CODES.length, 257);
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff);
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES[10], 0x3ffffffc);
  assert.equal(HUFFMAN_CODES[92], 0x7fff0);
  assert.equal(HUFFMAN_CODES[199], 0x1ffffec);
  assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
});

Deno.test("huffman: encodes and decodes the RFC 7541 examples", () => {
  for (const [text, encoded] of RFC_CASES) {
    assert.deepEqual(huffmanEncode(encoder.encode(text)), hex(encoded), text);
    assert.equal(huffmanEncodedLength(encoder.encode(text)), encoded.length / 2);
    assert.deepEqual(huffmanDecode(hex(encoded)), encoder.encode(text), text);
  }
});

Deno.test("huffman: every byte value round-trips", () => {
  const all = new Uint8Array(512).map((_, i) => (i * 7) % 256);
  assert.deepEqual(huffmanDecode(huffmanEncode(all)), all);
  assert.deepEqual(huffmanDecode(new Uint8Array(0)), new Uint8Array(0));
});

Deno.test("huffman: refuses EOS, long padding and padding that is not all ones", () => {
  // EOS (30 ones) followed by 2 padding ones: 4 x 0xff.
  assert.equal(huffmanDecode(new Uint8Array([0xff, 0xff, 0xff, 0xff])), undefined);
  // A lone 0xff is 8 bits of padding: more than 7.
  assert.equal(huffmanDecode(new Uint8Array([0xff])), undefined);
  // "0" is 00000; pad with 000 instead of 111.
  assert.equal(huffmanDecode(new Uint8Array([0x00])), undefined);
  assert.deepEqual(huffmanDecode(new Uint8Array([0x07])), encoder.encode("0"));
  // "www.example.com" with its last byte's padding bit cleared.
  const broken = hex("f1e3c2e5f23a6ba0ab90f4fe");
  assert.equal(huffmanDecode(broken), undefined);
});

Deno.test("huffman: ByteString encoding into a buffer matches the byte encoder", () => {
  for (const [text, encoded] of RFC_CASES) {
    const out = new Uint8Array(encoded.length / 2 + 2);
    assert.equal(huffmanEncodedLengthOfByteString(text), encoded.length / 2);
    assert.equal(huffmanEncodeByteStringInto(text, out, 1), 1 + encoded.length / 2);
    assert.deepEqual(out.subarray(1, 1 + encoded.length / 2), hex(encoded));
  }
  assert.throws(() => huffmanEncodedLengthOfByteString("caf\u0100"), TypeError);
});

Deno.test("huffman: decodes a sub-range into a reused buffer, -1 when invalid", () => {
  const out = new Uint8Array(64);
  for (const [text, encoded] of RFC_CASES.slice(0, 4)) {
    const bytes = hex("00" + encoded + "00");
    const length = huffmanDecodeInto(bytes, 1, bytes.length - 1, out);
    assert.deepEqual(out.subarray(0, length), encoder.encode(text), text);
    assert.ok(length <= huffmanDecodedLengthMax(encoded.length / 2));
  }
  assert.equal(huffmanDecodeInto(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0, 4, out), -1);
  assert.equal(huffmanDecodeInto(new Uint8Array([0x00]), 0, 1, out), -1);
  assert.equal(huffmanDecodeInto(new Uint8Array(0), 0, 0, out), 0);
});
