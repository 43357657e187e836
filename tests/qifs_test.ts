/**
 * The QPACK decoder against real encoder output (tests/testdata/qifs, see its README):
 * every encoded file of six implementations must decode to the header lists of its .qif, with
 * and without a dynamic table and with blocked streams, and every broken file must be refused
 * with a typed error.
 */
import assert from "@std/assert";
import { prng } from "../capnp/_test_frames.ts";
import { H3Error } from "../http3/errors.ts";
import { bytesToByteString, type FieldLine } from "../http3/qpack.ts";
import { QpackDecoder } from "../http3/qpack_dynamic.ts";
import { type QifBlock, QIFS_DIR, readQifBlocks } from "./_qifs.ts";

/** Capacity for the draft examples: the RFC's Appendix B uses 220; the draft's file sets 170. */
const DRAFT_EXAMPLES_CAPACITY = 220;

/** Header lists of a .qif, as ByteStrings so they compare with the decoder's output. */
function readQif(path: URL): FieldLine[][] {
  const text = bytesToByteString(Deno.readFileSync(path));
  const lists: FieldLine[][] = [];
  let current: FieldLine[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    if (line === "") {
      if (current.length > 0) lists.push(current);
      current = [];
      continue;
    }
    const tab = line.indexOf("\t");
    current.push([line.slice(0, tab), line.slice(tab + 1)]);
  }
  if (current.length > 0) lists.push(current);
  return lists;
}

/** Decodes a whole file as a connection would; returns the header lists in stream-id order. */
async function decodeFile(
  file: Uint8Array,
  options: { maxTableCapacity: number; blockedStreamsMax: number },
): Promise<
  { lists: FieldLine[][]; encoderStreamBytes: number; sectionBytes: number; blockedCount: number }
> {
  // The offline interop format has no SETTINGS exchange and most encoders in it skip Set
  // Dynamic Table Capacity: the table starts at the capacity named in the file name.
  const decoder = new QpackDecoder({ ...options, initialTableCapacity: options.maxTableCapacity });
  const results: Array<{ streamId: number; fields: Promise<FieldLine[]> }> = [];
  let encoderStreamBytes = 0;
  let sectionBytes = 0;
  let blockedCount = 0;
  try {
    for (const block of readQifBlocks(file)) {
      if (block.streamId === 0) {
        decoder.receiveEncoderStream(block.bytes);
        encoderStreamBytes += block.bytes.length;
        continue;
      }
      sectionBytes += block.bytes.length;
      const outcome = decoder.decodeOrBlock(block.streamId, block.bytes);
      if (outcome.blocked) blockedCount++;
      const fields = outcome.blocked ?? Promise.resolve(outcome.fields);
      results.push({ streamId: block.streamId, fields });
    }
    if (decoder.blockedStreamCount > 0) {
      throw new H3Error("QPACK_DECOMPRESSION_FAILED", "input ended with blocked streams");
    }
    results.sort((a, b) => a.streamId - b.streamId);
    const lists = await Promise.all(results.map((result) => result.fields));
    return { lists, encoderStreamBytes, sectionBytes, blockedCount };
  } finally {
    decoder.close();
  }
}

interface EncodedCase {
  encoder: string;
  name: string;
  qif: string;
  maxTableCapacity: number;
  blockedStreamsMax: number;
}

function listEncodedCases(): EncodedCase[] {
  const cases: EncodedCase[] = [{
    encoder: "",
    name: "draft-examples.out",
    qif: "draft-examples",
    maxTableCapacity: DRAFT_EXAMPLES_CAPACITY,
    blockedStreamsMax: 100,
  }];
  for (const dir of Deno.readDirSync(new URL("encoded/", QIFS_DIR))) {
    if (!dir.isDirectory) continue;
    for (const entry of Deno.readDirSync(new URL(`encoded/${dir.name}/`, QIFS_DIR))) {
      const match = /^(.+)\.out\.(\d+)\.(\d+)\.([01])$/.exec(entry.name);
      if (match === null) throw new Error(`Cannot parse qifs file name ${dir.name}/${entry.name}`);
      cases.push({
        encoder: dir.name,
        name: entry.name,
        qif: match[1],
        maxTableCapacity: Number(match[2]),
        blockedStreamsMax: Number(match[3]),
      });
    }
  }
  return cases.sort((a, b) => `${a.encoder}/${a.name}`.localeCompare(`${b.encoder}/${b.name}`));
}

Deno.test("qifs: every encoded file decodes to its header lists", async () => {
  const cases = listEncodedCases();
  assert.ok(cases.length >= 60, `only ${cases.length} encoded files`);
  const qifs = new Map<string, FieldLine[][]>();
  const encoders = new Set<string>();
  let blockedCount = 0;
  for (const entry of cases) {
    if (!qifs.has(entry.qif)) {
      qifs.set(entry.qif, readQif(new URL(`qifs/${entry.qif}.qif`, QIFS_DIR)));
    }
    const expected = qifs.get(entry.qif)!;
    const path = new URL(
      `encoded/${entry.encoder ? entry.encoder + "/" : ""}${entry.name}`,
      QIFS_DIR,
    );
    const label = `${entry.encoder}/${entry.name}`;
    let decoded;
    try {
      decoded = await decodeFile(Deno.readFileSync(path), entry);
    } catch (e) {
      throw new Error(`${label}: ${e}`);
    }
    assert.equal(decoded.lists.length, expected.length, `${label}: header list count`);
    for (let i = 0; i < expected.length; i++) {
      assert.deepEqual(decoded.lists[i], expected[i], `${label}: header list ${i}`);
    }
    if (entry.maxTableCapacity > 0 && entry.encoder) encoders.add(entry.encoder);
    blockedCount += decoded.blockedCount;
  }
  // Some files put header blocks before the inserts they need: blocked streams were exercised.
  assert.ok(blockedCount > 0, "no header block was ever blocked");
  assert.equal(encoders.size, 6, `encoders with a dynamic table: ${[...encoders]}`);
});

/**
 * errors/err9 (`00 00 c0`: indexed static entry 0) and errors/err10 (`00 00 fe`: static entry 62)
 * were written for early QPACK drafts, which used HPACK's 61-entry static table indexed from 1,
 * so index 0 and 62 did not exist. RFC 9204's table has 99 entries from 0: both are valid
 * field sections there, and refusing static index 0 would refuse real requests (it is
 * `:authority`). They must decode to exactly these lists; the other ten must be refused.
 */
const VALID_UNDER_RFC_9204: Record<string, FieldLine[]> = {
  err9: [[":authority", ""]],
  err10: [["x-xss-protection", "1; mode=block"]],
};

Deno.test("qifs: every broken file is refused with a typed error (err9/err10: see above)", async () => {
  const names = [...Deno.readDirSync(new URL("errors/", QIFS_DIR))].map((e) => e.name).sort();
  assert.equal(names.length, 12);
  let refused = 0;
  for (const name of names) {
    const file = Deno.readFileSync(new URL(`errors/${name}`, QIFS_DIR));
    const outcome = await decodeFile(file, { maxTableCapacity: 4096, blockedStreamsMax: 100 })
      .then((decoded) => decoded.lists, (error) => error);
    if (name in VALID_UNDER_RFC_9204) {
      assert.deepEqual(outcome, [VALID_UNDER_RFC_9204[name]], name);
      continue;
    }
    assert.ok(outcome instanceof H3Error, `${name}: ${outcome}`);
    assert.match(outcome.codeName, /^QPACK_(DECOMPRESSION_FAILED|ENCODER_STREAM_ERROR)$/, name);
    refused++;
  }
  assert.equal(refused, 10);
});

Deno.test("qifs: header blocks arriving early and the encoder stream in small pieces", async () => {
  // As with Chromium: request streams overtake the encoder-stream bytes they depend on, and
  // those bytes arrive split at arbitrary points.
  const random = prng(0x9204);
  for (const encoder of ["ls-qpack", "nghttp3", "quinn"]) {
    const blocks = readQifBlocks(
      Deno.readFileSync(new URL(`encoded/${encoder}/fb-req.out.4096.100.0`, QIFS_DIR)),
    );
    const encoderBytes: number[] = [];
    const sections: Array<{ block: QifBlock; at: number }> = [];
    for (const block of blocks) {
      if (block.streamId === 0) encoderBytes.push(...block.bytes);
      else {sections.push({
          block,
          at: Math.max(0, encoderBytes.length - Math.floor(random() * 400)),
        });}
    }
    sections.sort((a, b) => a.at - b.at);
    const decoder = new QpackDecoder({
      maxTableCapacity: 4096,
      blockedStreamsMax: 1000,
      initialTableCapacity: 4096,
    });
    const results: Array<{ streamId: number; fields: Promise<FieldLine[]> }> = [];
    let blocked = 0;
    let next = 0;
    let delivered = 0;
    // Bounded: each pass delivers at least one encoder byte or the remaining sections.
    while (next < sections.length || delivered < encoderBytes.length) {
      while (next < sections.length && sections[next].at <= delivered) {
        const { block } = sections[next++];
        const outcome = decoder.decodeOrBlock(block.streamId, block.bytes);
        if (outcome.blocked) blocked++;
        results.push({
          streamId: block.streamId,
          fields: outcome.blocked ?? Promise.resolve(outcome.fields),
        });
      }
      const size = Math.min(1 + Math.floor(random() * 40), encoderBytes.length - delivered);
      decoder.receiveEncoderStream(new Uint8Array(encoderBytes.slice(delivered, delivered + size)));
      delivered += size;
    }
    assert.equal(decoder.blockedStreamCount, 0, encoder);
    assert.ok(blocked > 10, `${encoder}: only ${blocked} sections were blocked`);
    results.sort((a, b) => a.streamId - b.streamId);
    const lists = await Promise.all(results.map((result) => result.fields));
    assert.deepEqual(lists, readQif(new URL("qifs/fb-req.qif", QIFS_DIR)), encoder);
    decoder.close();
  }
});
