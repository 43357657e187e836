import assert from "@std/assert";
import zlib from "node:zlib";
import { Pool } from "../pool/mod.ts";
import { Answer, type CallAnswer } from "./answer.ts";
import { compressAnswer, WebSink } from "./web_sink.ts";
import { WebPolicy } from "./web_policy.ts";
import { CallHead } from "./call_head.ts";

const text = new TextEncoder().encode(JSON.stringify({ payload: "y".repeat(20_000) }));

function leased(pool: Pool, bytes: Uint8Array, status = 200): Answer {
  const lease = pool.tryAcquire(bytes.length)!;
  lease.bytes.set(bytes);
  return new Answer(status, "application/json", lease.bytes.subarray(0, bytes.length), { lease });
}

Deno.test("web sink: a large 200 is coded into a second block; otherwise sent as it is", () => {
  const pool = Pool.open([{ blockSizeBytes: 32768, blockCount: 2 }]);
  try {
    const options = { coding: "gzip" as const, minBytes: 1024, pool };
    const coded = compressAnswer(leased(pool, text), options);
    assert.equal(coded.fields.find(([n]) => n === "content-encoding")?.[1], "gzip");
    assert.deepEqual(new Uint8Array(zlib.gunzipSync(coded.body)), text);
    assert.equal(pool.inUseCount(), 1, "the identity block went back");
    coded.release();
    // No second block free: the answer goes out as it is.
    const hold = pool.tryAcquire(1)!;
    const plain = leased(pool, text);
    assert.equal(compressAnswer(plain, options), plain);
    plain.release();
    hold.release();
    // Small, an error, or heap bytes: as they are.
    const small = leased(pool, text.subarray(0, 100));
    assert.equal(compressAnswer(small, options), small);
    small.release();
    const error = leased(pool, text, 500);
    assert.equal(compressAnswer(error, options), error);
    error.release();
    const heap = new Answer(200, "application/json", text);
    assert.equal(compressAnswer(heap, options), heap);
    assert.equal(pool.inUseCount(), 0);
  } finally {
    pool.close();
  }
});

Deno.test("web sink: every answer gets the requester's web fields", () => {
  const web = new WebPolicy({ corsOrigins: ["https://a.example"] });
  const head = new CallHead();
  head.readField("origin", "https://a.example");
  const sent: CallAnswer[] = [];
  const pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 1 }]);
  try {
    const sink = new WebSink({ answer: (a) => sent.push(a) }, {
      fields: web.fieldsOf(head, true),
      get: true,
      coding: null,
      minBytes: web.compressMinBytes,
      pool,
    });
    sink.answer(new Answer(404, "application/json", new Uint8Array(2)));
    sink.answer(new Answer(304, "", new Uint8Array(0), { fields: [["etag", 'W/"j.1"']] }));
    const fields = sent.map((a) => new Map(a.fields));
    assert.equal(fields[0].get("cache-control"), "no-store");
    assert.equal(fields[0].get("access-control-allow-origin"), "https://a.example");
    assert.equal(fields[1].get("cache-control"), "private, no-cache");
    assert.equal(fields[1].get("etag"), 'W/"j.1"');
  } finally {
    pool.close();
  }
});
