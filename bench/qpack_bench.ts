/**
 * QPACK: header bytes per request with the dynamic table against capacity 0, and decode speed.
 *
 * Run: `deno bench -A bench/qpack_bench.ts`. At load it prints, from the qifs corpus
 * (tests/testdata/qifs, real encoder output of the same header lists with a 4096-byte table
 * and with capacity 0), the bytes each request costs on the wire: field section + the encoder
 * stream bytes it caused, averaged over the file. The benches then time decoding one whole file
 * with the static table only (baseline) against the same lists through the dynamic table.
 *
 * @module
 */
import { decodeFieldSection, encodeFieldSection, type FieldLine } from "../http3/qpack.ts";
import { QpackDecoder } from "../http3/qpack_dynamic.ts";
import { huffmanDecode, huffmanEncode } from "../http_common/huffman.ts";
import { type QifBlock, QIFS_DIR, readQifBlocks } from "../tests/_qifs.ts";

function load(encoder: string, name: string): QifBlock[] {
  return readQifBlocks(Deno.readFileSync(new URL(`encoded/${encoder}/${name}`, QIFS_DIR)));
}

/** Wire bytes per header list: sections plus encoder-stream bytes, over the list count. */
function bytesPerList(blocks: QifBlock[]): { perList: number; lists: number } {
  let total = 0;
  let lists = 0;
  for (const block of blocks) {
    total += block.bytes.length;
    if (block.streamId !== 0) lists++;
  }
  return { perList: total / lists, lists };
}

function printSavings(): void {
  const rows: string[] = [];
  for (const qif of ["fb-req", "fb-resp", "netbsd"]) {
    for (const encoder of ["ls-qpack", "nghttp3", "qthingey", "quinn"]) {
      const zero = bytesPerList(load(encoder, `${qif}.out.0.0.0`));
      const acked = bytesPerList(load(encoder, `${qif}.out.4096.100.1`));
      const unacked = bytesPerList(load(encoder, `${qif}.out.4096.100.0`));
      rows.push(
        `| ${qif} | ${encoder} | ${zero.lists} | ${zero.perList.toFixed(1)} | ` +
          `${acked.perList.toFixed(1)} (-${
            (100 - (100 * acked.perList) / zero.perList).toFixed(0)
          }%) | ` +
          `${unacked.perList.toFixed(1)} (-${
            (100 - (100 * unacked.perList) / zero.perList).toFixed(0)
          }%) |`,
      );
    }
  }
  console.log(
    "| qif | encoder | lists | bytes/list, capacity 0 | 4096, acked | 4096, not acked |\n" +
      "| --- | --- | --- | --- | --- | --- |\n" + rows.join("\n"),
  );
}

printSavings();

const staticBlocks = load("ls-qpack", "fb-req.out.0.0.0");
const dynamicBlocks = load("ls-qpack", "fb-req.out.4096.100.1");

function decodeAll(blocks: QifBlock[], maxTableCapacity: number): number {
  const decoder = new QpackDecoder({
    maxTableCapacity,
    blockedStreamsMax: 100,
    initialTableCapacity: maxTableCapacity,
  });
  let fields = 0;
  for (const block of blocks) {
    if (block.streamId === 0) {
      decoder.receiveEncoderStream(block.bytes);
    } else {
      const outcome = decoder.decodeOrBlock(block.streamId, block.bytes);
      fields += outcome.fields?.length ?? 0;
    }
  }
  decoder.close();
  return fields;
}

Deno.bench("decode fb-req (ls-qpack), capacity 0", { group: "decode", baseline: true }, () => {
  decodeAll(staticBlocks, 0);
});
Deno.bench("decode fb-req (ls-qpack), dynamic table 4096", { group: "decode" }, () => {
  decodeAll(dynamicBlocks, 4096);
});

const response: FieldLine[] = [
  [":status", "200"],
  ["content-type", "application/capnp"],
  ["content-length", "1234"],
  ["date", "Thu, 26 Nov 2026 21:00:00 GMT"],
];
const responseSection = encodeFieldSection(response);
Deno.bench("encode a 4-field response", { group: "response", baseline: true }, () => {
  encodeFieldSection(response);
});
Deno.bench("decode a 4-field response", { group: "response" }, () => {
  decodeFieldSection(responseSection);
});

const userAgent = new TextEncoder().encode(
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
);
const userAgentHuffman = huffmanEncode(userAgent);
const latin1 = new TextDecoder("latin1");
Deno.bench("TextDecoder of the raw user-agent", { group: "huffman", baseline: true }, () => {
  latin1.decode(userAgent);
});
Deno.bench("Huffman decode of the user-agent", { group: "huffman" }, () => {
  huffmanDecode(userAgentHuffman);
});
