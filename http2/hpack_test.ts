import assert from "@std/assert";
import { H2Error } from "./errors.ts";
import { HpackDecoder } from "./hpack.ts";
import { DynamicTable } from "./hpack_dynamic.ts";
import { encodeFieldBlock, ResponseHeadEncoder, writeInteger } from "./hpack_encoder.ts";
import {
  HPACK_STATIC_COUNT,
  HPACK_STATIC_TABLE,
  hpackStaticExact,
  hpackStaticName,
} from "./hpack_static.ts";

const hex = (text: string) => new Uint8Array(text.match(/../g)!.map((b) => parseInt(b, 16)));
type Fields = [string, string][];

function decode(decoder: HpackDecoder, block: Uint8Array): Fields {
  const fields: Fields = [];
  decoder.decode(block, 0, block.length, { onField: (n, v) => fields.push([n, v]) });
  return fields;
}

const REQUEST_1: Fields = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [
  ":authority",
  "www.example.com",
]];
const REQUEST_2: Fields = [...REQUEST_1, ["cache-control", "no-cache"]];
const REQUEST_3: Fields = [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [
  ":authority",
  "www.example.com",
], ["custom-key", "custom-value"]];
const RESPONSE_1: Fields = [[":status", "302"], ["cache-control", "private"], [
  "date",
  "Mon, 21 Oct 2013 20:13:21 GMT",
], ["location", "https://www.example.com"]];
const RESPONSE_2: Fields = [[":status", "307"], ...RESPONSE_1.slice(1)];
const RESPONSE_3: Fields = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ["location", "https://www.example.com"],
  ["content-encoding", "gzip"],
  ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
];

/** RFC 7541 Appendix C.3-C.6: [block, fields, table size after], per connection. */
const SEQUENCES: { name: string; tableBytes: number; steps: [string, Fields, number][] }[] = [
  {
    name: "C.3",
    tableBytes: 4096,
    steps: [
      ["828684410f7777772e6578616d706c652e636f6d", REQUEST_1, 57],
      ["828684be58086e6f2d6361636865", REQUEST_2, 110],
      ["828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", REQUEST_3, 164],
    ],
  },
  {
    name: "C.4",
    tableBytes: 4096,
    steps: [
      ["828684418cf1e3c2e5f23a6ba0ab90f4ff", REQUEST_1, 57],
      ["828684be5886a8eb10649cbf", REQUEST_2, 110],
      ["828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", REQUEST_3, 164],
    ],
  },
  {
    name: "C.5",
    tableBytes: 256,
    steps: [
      [
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        RESPONSE_1,
        222,
      ],
      ["4803333037c1c0bf", RESPONSE_2, 222],
      [
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
        RESPONSE_3,
        215,
      ],
    ],
  },
  {
    name: "C.6",
    tableBytes: 256,
    steps: [
      [
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        RESPONSE_1,
        222,
      ],
      ["4883640effc1c0bf", RESPONSE_2, 222],
      [
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        RESPONSE_3,
        215,
      ],
    ],
  },
];

Deno.test("hpack: the static table is RFC 7541 Appendix A", () => {
  assert.equal(HPACK_STATIC_TABLE.length, HPACK_STATIC_COUNT + 1);
  assert.deepEqual(HPACK_STATIC_TABLE[1], [":authority", ""]);
  assert.deepEqual(HPACK_STATIC_TABLE[8], [":status", "200"]);
  assert.deepEqual(HPACK_STATIC_TABLE[16], ["accept-encoding", "gzip, deflate"]);
  assert.deepEqual(HPACK_STATIC_TABLE[28], ["content-length", ""]);
  assert.deepEqual(HPACK_STATIC_TABLE[61], ["www-authenticate", ""]);
  assert.equal(hpackStaticExact(":method", "POST"), 3);
  assert.equal(hpackStaticExact(":status", "418"), 0);
  assert.equal(hpackStaticName(":status"), 8);
  assert.equal(hpackStaticName("x-nope"), 0);
});

Deno.test("hpack: decodes the RFC 7541 Appendix C.2 single blocks", () => {
  const cases: [string, Fields, number][] = [
    ["400a637573746f6d2d6b65790d637573746f6d2d686561646572", [["custom-key", "custom-header"]], 55],
    ["040c2f73616d706c652f70617468", [[":path", "/sample/path"]], 0],
    ["100870617373776f726406736563726574", [["password", "secret"]], 0],
    ["82", [[":method", "GET"]], 0],
  ];
  for (const [block, fields, size] of cases) {
    const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 65536 });
    assert.deepEqual(decode(decoder, hex(block)), fields, block);
    assert.equal(decoder.table.sizeBytes, size);
  }
});

Deno.test("hpack: decodes the RFC 7541 Appendix C.3-C.6 sequences with their table sizes", () => {
  for (const { name, tableBytes, steps } of SEQUENCES) {
    const decoder = new HpackDecoder({ tableBytes, headerListBytesMax: 65536 });
    if (tableBytes < 4096) decoder.settingsAcknowledged();
    for (const [i, [block, fields, size]] of steps.entries()) {
      // The 256-byte examples assume that size from the start: announce it (3fe101 = 256).
      const bytes = hex(i === 0 && tableBytes < 4096 ? "3fe101" + block : block);
      assert.deepEqual(decode(decoder, bytes), fields, `${name}.${i + 1}`);
      assert.equal(decoder.table.sizeBytes, size, `${name}.${i + 1} size`);
    }
  }
});

Deno.test("hpack: prefixed integers (C.1) and the encoder's blocks round-trip", () => {
  const out = new Uint8Array(8);
  assert.deepEqual(out.subarray(0, writeInteger(out, 0, 10, 5, 0)), hex("0a"));
  assert.deepEqual(out.subarray(0, writeInteger(out, 0, 1337, 5, 0)), hex("1f9a0a"));
  assert.deepEqual(out.subarray(0, writeInteger(out, 0, 42, 8, 0)), hex("2a"));
  // With a table the encoder reproduces C.4 byte for byte.
  const table = new DynamicTable(4096);
  assert.deepEqual(encodeFieldBlock(REQUEST_1, { table }), hex(SEQUENCES[1].steps[0][0]));
  assert.deepEqual(encodeFieldBlock(REQUEST_2, { table }), hex(SEQUENCES[1].steps[1][0]));
  assert.deepEqual(encodeFieldBlock(REQUEST_3, { table }), hex(SEQUENCES[1].steps[2][0]));
  const fields: Fields = [["x-bytes", "\u00ff\u0000\u0080 odd"], ["accept", "*/*"], [":path", "/"]];
  for (const huffman of [true, false]) {
    const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 65536 });
    assert.deepEqual(decode(decoder, encodeFieldBlock(fields, { huffman })), fields);
  }
});

Deno.test("hpack: size updates only at the start and within our setting, else COMPRESSION_ERROR", () => {
  const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 65536 });
  assert.deepEqual(decode(decoder, hex("3fe107" + "82")), [[":method", "GET"]]); // 1024, then GET
  assert.equal(decoder.table.maxSizeBytes, 1024);
  assert.deepEqual(decode(decoder, hex("2082")), [[":method", "GET"]]);
  assert.equal(decoder.table.maxSizeBytes, 0);
  const fail = (block: string) =>
    assert.throws(
      () => decode(decoder, hex(block)),
      (e: unknown) => e instanceof H2Error && e.codeName === "COMPRESSION_ERROR",
      block,
    );
  fail("8220"); // after a field
  fail("3fe21f"); // 4097 > 4096
});

Deno.test("hpack: a smaller table after our SETTINGS ACK must be announced first", () => {
  const decoder = new HpackDecoder({ tableBytes: 256, headerListBytesMax: 65536 });
  decode(decoder, hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")); // fits 4096 before the ACK
  decoder.settingsAcknowledged();
  assert.equal(decoder.sizeUpdateRequired, true);
  assert.throws(() => decode(decoder, hex("82")), H2Error);
  assert.deepEqual(decode(decoder, hex("3fe10182")), [[":method", "GET"]]); // 256, then GET
  assert.equal(decoder.sizeUpdateRequired, false);
});

Deno.test("hpack: malformed blocks are COMPRESSION_ERRORs", () => {
  const bad = [
    "80", // index 0
    "be", // index 62: empty table
    "7f00", // literal name index 63+: not in the table... (0x7f then continuation 0)
    "ff", // truncated integer
    "ffffffffffff7f", // integer too long
    "4003", // truncated string
    "0085ffffffffff", // Huffman string holding EOS
    "410fabc", // string longer than the block
  ];
  for (const block of bad) {
    const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 65536 });
    const bytes = hex(block.length % 2 ? block + "0" : block);
    assert.throws(
      () => decode(decoder, bytes),
      (e: unknown) => e instanceof H2Error && e.codeName === "COMPRESSION_ERROR",
      block,
    );
  }
});

Deno.test("hpack: past the header-list cap fields are dropped but the table stays in step", () => {
  const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 100 });
  const long = "v".repeat(60);
  const block = encodeFieldBlock([["a", long], ["b", long], ["c", "x"]], {
    table: new DynamicTable(4096),
  });
  const fields = decode(decoder, block);
  assert.equal(decoder.tooLarge, true);
  assert.deepEqual(fields, [["a", long]]);
  assert.equal(decoder.table.count, 3);
  assert.equal(decoder.table.name(1), "c");
  assert.equal(decoder.headerListBytes, 3 * 32 + 1 + 60 + 1 + 60 + 2);
});

Deno.test("hpack: the response encoder caches blocks, appends content-length, drops connection fields", () => {
  const encoder = new ResponseHeadEncoder();
  const decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 65536 });
  const first = decode(
    decoder,
    encoder.encode(200, [["content-type", "application/capnp"], ["content-length", "12"]]).slice(),
  );
  assert.deepEqual(first, [[":status", "200"], ["content-type", "application/capnp"], [
    "content-length",
    "12",
  ]]);
  assert.equal(decoder.table.maxSizeBytes, 0, "the first block announces an empty table");
  const second = encoder.encode(200, [["Content-Type", "x"], ["Connection", "close"], [
    "content-length",
    "7",
  ]]).slice();
  assert.deepEqual(decode(decoder, second), [[":status", "200"], ["content-type", "x"], [
    "content-length",
    "7",
  ]]);
  encoder.encode(200, [["content-type", "application/capnp"], ["content-length", "99999"]]);
  assert.equal(encoder.cachedCount, 2, "content-length is not part of the key");
  assert.deepEqual(decode(decoder, encoder.encode(418, []).slice()), [[":status", "418"]]);
  assert.throws(() => encoder.encode(99, []), TypeError);
  assert.throws(() => encoder.encode(200, [["x", "a\r\nb"]]), TypeError);
  assert.throws(() => encoder.encode(200, [["bad name", "a"]]), TypeError);
  assert.throws(() => encoder.encode(200, [["content-length", "1e3"]]), TypeError);
});
