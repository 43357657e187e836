import assert from "@std/assert";
import zlib from "node:zlib";
import { Pool } from "../pool/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { inflateBody, type TakenBlock } from "./inflate_body.ts";

const NO_CHARGE = { classIndex: -1, connection: null, principal: null };

/** take/give over a real pool, counting what was taken. */
function blocks(pool: Pool) {
  const sizes: number[] = [];
  return {
    sizes,
    take: (sizeBytes: number): TakenBlock => {
      sizes.push(sizeBytes);
      return { lease: sizeBytes === 0 ? null : pool.tryAcquire(sizeBytes), charge: NO_CHARGE };
    },
    give: (block: TakenBlock) => block.lease?.release(),
  };
}

function statusOf(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    return error.httpStatus;
  }
}

Deno.test("inflate body: into a block of the trailer's size; bombs refused before inflating", () => {
  const pool = Pool.open([{ blockSizeBytes: 65536, blockCount: 2 }]);
  try {
    const text = new TextEncoder().encode(JSON.stringify({ payload: "x".repeat(30_000) }));
    const b = blocks(pool);
    const options = { limitBytes: 65536, what: "system.echo", take: b.take, give: b.give };
    const body = inflateBody(zlib.gzipSync(text), options);
    assert.equal(body.lengthBytes, text.length);
    assert.deepEqual(body.lease!.bytes.subarray(0, text.length), text);
    body.lease!.release();
    // A bomb states its size: 413 before a block is taken.
    assert.equal(statusOf(() => inflateBody(zlib.gzipSync(new Uint8Array(1 << 24)), options)), 413);
    assert.deepEqual(b.sizes, [text.length]);
    // A trailer that lies: the block of its size fills, then 400 (the block given back).
    const lying = zlib.gzipSync(new Uint8Array(1 << 24));
    new DataView(lying.buffer, lying.byteOffset).setUint32(lying.length - 4, 100, true);
    assert.equal(statusOf(() => inflateBody(lying, options)), 400);
    assert.equal(statusOf(() => inflateBody(new Uint8Array(10), options)), 400, "too short");
    const corrupt = Uint8Array.from(zlib.gzipSync(text));
    corrupt[20] ^= 0xff;
    assert.equal(statusOf(() => inflateBody(corrupt, options)), 400);
    const empty = inflateBody(zlib.gzipSync(new Uint8Array(0)), options);
    assert.deepEqual([empty.lease, empty.lengthBytes], [null, 0]);
    assert.equal(pool.inUseCount(), 0);
  } finally {
    pool.close();
  }
});
