import assert from "@std/assert";
import { h3ErrorCode } from "./_test_errors.ts";
import { prng } from "../capnp/_test_frames.ts";
import { H3Error } from "./errors.ts";
import { FieldSectionTooLargeError } from "./qpack.ts";
import {
  DecoderStreamReader,
  DynamicTable,
  encodeDuplicate,
  encodeInsertCountIncrement,
  encodeInsertWithLiteralName,
  encodeInsertWithNameRef,
  encodeSectionAcknowledgment,
  encodeSetCapacity,
  encodeStreamCancellation,
  QpackDecoder,
  readEncoderInstruction,
} from "./qpack_dynamic.ts";

const hex = (text: string) =>
  new Uint8Array(text.replace(/\s/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof H3Error) return e.codeName;
    throw e;
  }
  return undefined;
}

function newDecoder(options: { maxTableCapacity: number; blockedStreamsMax: number }) {
  const sent: number[] = [];
  const decoder = new QpackDecoder({
    ...options,
    onDecoderStreamBytes: (bytes) => sent.push(...bytes),
  });
  return { decoder, sent };
}

// RFC 9204 Appendix B, encoder stream pieces.
const B2_ENCODER = hex("3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468");
const B3_ENCODER = hex("4a637573746f6d2d6b65790c637573746f6d2d76616c7565");
const B4_ENCODER = hex("02");
const B5_ENCODER = hex("810d637573746f6d2d76616c756532");

Deno.test("qpack dynamic: RFC 9204 Appendix B, with stream 4 arriving before its inserts", async () => {
  const { decoder, sent } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 1 });
  const stream4 = decoder.decodeOrBlock(4, hex("0381 10 11"));
  assert.ok(stream4.blocked !== undefined);
  assert.equal(decoder.blockedStreamCount, 1);
  decoder.receiveEncoderStream(B2_ENCODER);
  assert.deepEqual(await stream4.blocked, [[":authority", "www.example.com"], [
    ":path",
    "/sample/path",
  ]]);
  assert.deepEqual(sent, [0x84]); // Section Acknowledgment (stream 4); no increment needed
  assert.equal(decoder.table.sizeBytes, 106);

  decoder.receiveEncoderStream(B3_ENCODER);
  assert.deepEqual(sent, [0x84, 0x01]); // Insert Count Increment (1)
  assert.equal(decoder.table.sizeBytes, 160);

  const stream8 = decoder.decodeOrBlock(8, hex("0500 80 c1 81"));
  assert.ok(stream8.blocked !== undefined);
  decoder.cancelStream(8);
  assert.equal(await rejectionCode(stream8.blocked!), "H3_REQUEST_CANCELLED");
  assert.deepEqual(sent, [0x84, 0x01, 0x48]); // Stream Cancellation (stream 8)

  decoder.receiveEncoderStream(B4_ENCODER);
  assert.equal(decoder.table.sizeBytes, 217);
  decoder.receiveEncoderStream(B5_ENCODER);
  assert.equal(decoder.table.sizeBytes, 215);
  assert.equal(decoder.table.entry(0), undefined); // evicted
  assert.deepEqual(decoder.table.entry(4), ["custom-key", "custom-value2"]);
  assert.deepEqual(sent, [0x84, 0x01, 0x48, 0x01, 0x01]);

  const again = decoder.decodeOrBlock(8, hex("0500 80 c1 81"));
  assert.deepEqual(again.fields, [
    [":authority", "www.example.com"],
    [":path", "/"],
    ["custom-key", "custom-value"],
  ]);
  assert.deepEqual(sent.slice(-1), [0x88]);
});

Deno.test("qpack dynamic: post-base and dynamic name references decode", () => {
  const { decoder } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 0 });
  decoder.receiveEncoderStream(B2_ENCODER);
  // RIC 2, Base 0: literal with post-base name ref index 1 (:path), value "x".
  assert.deepEqual(decoder.decodeOrBlock(0, hex("0381 01 0178")).fields, [[":path", "x"]]);
  // RIC 2, Base 2: literal with dynamic name ref relative 0 (abs 1, :path), N=1, value "y".
  assert.deepEqual(decoder.decodeOrBlock(4, hex("0300 60 0179")).fields, [[":path", "y"]]);
  // A reference at or past Required Insert Count is an error even if the entry exists.
  assert.equal(
    h3ErrorCode(() => decoder.decodeOrBlock(8, hex("0200 10 11"))),
    "QPACK_DECOMPRESSION_FAILED",
  );
});

Deno.test("qpack dynamic: one blocked stream more than the SETTINGS allow fails", () => {
  const { decoder } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 1 });
  const first = decoder.decodeOrBlock(0, hex("0381 10"));
  assert.ok(first.blocked);
  // A second section on the same stream does not count as another blocked stream.
  assert.ok(decoder.decodeOrBlock(0, hex("0381 11")).blocked);
  assert.equal(
    h3ErrorCode(() => decoder.decodeOrBlock(4, hex("0381 10"))),
    "QPACK_DECOMPRESSION_FAILED",
  );
  const none = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 0 }).decoder;
  assert.equal(
    h3ErrorCode(() => none.decodeOrBlock(0, hex("0381 10"))),
    "QPACK_DECOMPRESSION_FAILED",
  );
  decoder.close();
});

Deno.test("qpack dynamic: close rejects blocked sections, and a blocked section can fail", async () => {
  const { decoder } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 4 });
  const tooBig = new QpackDecoder({
    maxTableCapacity: 220,
    blockedStreamsMax: 4,
    fieldSectionBytesMax: 40,
  });
  const big = tooBig.decodeOrBlock(0, hex("0381 10"));
  tooBig.receiveEncoderStream(B2_ENCODER);
  assert.ok(big.blocked !== undefined);
  assert.ok(await big.blocked!.catch((e) => e) instanceof FieldSectionTooLargeError);
  const pending = decoder.decodeOrBlock(0, hex("0381 10"));
  decoder.close();
  assert.equal(await rejectionCode(pending.blocked!), "H3_REQUEST_CANCELLED");
  assert.equal(h3ErrorCode(() => decoder.decodeOrBlock(4, hex("0000 d1"))), "H3_REQUEST_CANCELLED");
});

Deno.test("qpack dynamic: encoder-stream errors are QPACK_ENCODER_STREAM_ERROR", () => {
  const cases: Array<[Uint8Array, string]> = [
    [encodeSetCapacity(221), "capacity above our SETTINGS"],
    [
      hex("3f09 " + "4a637573746f6d2d6b65790c637573746f6d2d76616c7565"),
      "entry of 54 bytes, capacity 40",
    ],
    [encodeDuplicate(0), "duplicate in an empty table"],
    [hex("3fbd01").slice(), "set only"],
    [
      new Uint8Array([
        ...encodeSetCapacity(220),
        ...encodeInsertWithNameRef({ isStatic: true, nameIndex: 99, value: "" }),
      ]),
      "static 99",
    ],
    [
      new Uint8Array([
        ...encodeSetCapacity(220),
        ...encodeInsertWithNameRef({ isStatic: false, nameIndex: 0, value: "" }),
      ]),
      "dynamic name in empty table",
    ],
    [hex("3fbd01 7fff10"), "name length 2206 over the capacity"],
    [hex("3fbd01 6184"), "invalid Huffman name"],
    [hex("ff80ffffffff01"), "qifs err12: overflowing name index"],
  ];
  for (const [bytes, label] of cases) {
    const { decoder } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 0 });
    const code = h3ErrorCode(() => decoder.receiveEncoderStream(bytes));
    assert.equal(code, label === "set only" ? undefined : "QPACK_ENCODER_STREAM_ERROR", label);
  }
});

Deno.test("qpack dynamic: encoder instructions split at every byte apply the same", () => {
  const all = new Uint8Array([
    ...B2_ENCODER,
    ...B3_ENCODER,
    ...B4_ENCODER,
    ...B5_ENCODER,
    ...encodeInsertWithLiteralName("x-raw", "\u00ff\u0001"),
  ]);
  for (let cut = 0; cut <= all.length; cut++) {
    const { decoder, sent } = newDecoder({ maxTableCapacity: 220, blockedStreamsMax: 0 });
    decoder.receiveEncoderStream(all.subarray(0, cut));
    decoder.receiveEncoderStream(all.subarray(cut));
    assert.equal(decoder.table.insertCount, 6, `cut ${cut}`);
    assert.deepEqual(decoder.table.entry(5), ["x-raw", "\u00ff\u0001"]);
    assert.ok(sent.length >= 1);
  }
  // Every strict prefix of one instruction is "need more bytes".
  for (let cut = 0; cut < B3_ENCODER.length; cut++) {
    assert.equal(readEncoderInstruction(B3_ENCODER.subarray(0, cut), 0, 220), undefined);
  }
});

Deno.test("qpack dynamic: random encoder-stream and section bytes fail typed only", () => {
  const random = prng(0xdecade);
  let errors = 0;
  for (let i = 0; i < 2000; i++) {
    const { decoder } = newDecoder({ maxTableCapacity: 4096, blockedStreamsMax: 2 });
    const bytes = new Uint8Array(Math.floor(random() * 40)).map(() => Math.floor(random() * 256));
    const section = new Uint8Array(Math.floor(random() * 20)).map(() => Math.floor(random() * 256));
    const code = h3ErrorCode(() => {
      decoder.receiveEncoderStream(encodeSetCapacity(4096));
      decoder.receiveEncoderStream(bytes);
      decoder.decodeOrBlock(0, section);
    });
    if (code !== undefined) errors++;
    decoder.close();
  }
  assert.ok(errors > 500, `errors ${errors}`);
});

Deno.test("qpack dynamic: decoder-stream instructions encode and the peer's are checked", () => {
  assert.deepEqual(encodeSectionAcknowledgment(4), new Uint8Array([0x84]));
  assert.deepEqual(encodeStreamCancellation(8), new Uint8Array([0x48]));
  assert.deepEqual(encodeInsertCountIncrement(1), new Uint8Array([0x01]));
  assert.deepEqual(encodeSetCapacity(220), hex("3fbd01"));
  const reader = new DecoderStreamReader();
  assert.deepEqual(reader.push(hex("44 7f")), [{ type: "stream_cancel", streamId: 4 }]);
  assert.deepEqual(reader.push(hex("01")), [{ type: "stream_cancel", streamId: 64 }]);
  assert.equal(
    h3ErrorCode(() => new DecoderStreamReader().push(hex("84"))),
    "QPACK_DECODER_STREAM_ERROR",
  );
  assert.equal(
    h3ErrorCode(() => new DecoderStreamReader().push(hex("01"))),
    "QPACK_DECODER_STREAM_ERROR",
  );
});

Deno.test("qpack dynamic: the table evicts oldest first and refuses oversize entries", () => {
  const table = new DynamicTable(100);
  table.setCapacity(100);
  table.insert("a", "1"); // 34
  table.insert("b", "2"); // 68
  table.insert("c", "3"); // 102 > 100: evicts "a"
  assert.equal(table.entry(0), undefined);
  assert.deepEqual(table.entry(2), ["c", "3"]);
  assert.equal(table.entryCount, 2);
  table.setCapacity(40);
  assert.equal(table.entryCount, 1);
  assert.equal(
    h3ErrorCode(() => table.insert("long", "x".repeat(10))),
    "QPACK_ENCODER_STREAM_ERROR",
  );
  for (let i = 0; i < 1000; i++) table.insert("d", "4");
  assert.equal(table.insertCount, 1003);
  assert.deepEqual(table.entry(1002), ["d", "4"]);
});
