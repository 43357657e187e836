/** The call codec's text answer: a block sized by the text, exact for ASCII and for the rest. */

import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import { openCore } from "../tests/_core.ts";
import { encodeTextLease, utf8LengthBytes } from "./call_codec.ts";

const decoder = new TextDecoder();

Deno.test("encodeTextLease: ASCII, two- to four-byte characters and lone surrogates, exact", async () => {
  const t = openCore();
  try {
    const texts = [
      "{}",
      '{"ok":true}',
      "é".repeat(3000), // 3,000 units, 6,000 bytes: past the first 4 KiB block
      "x".repeat(4095) + "€", // fits 4,096 units, not 4,098 bytes
      "\u{1f600}".repeat(700),
      "a\ud800b\udc00c", // lone surrogates become U+FFFD, three bytes each
    ];
    for (const text of texts) {
      const { lease, lengthBytes } = encodeTextLease(t.services, text);
      try {
        assert.equal(lengthBytes, utf8LengthBytes(text));
        assert.equal(lengthBytes, new TextEncoder().encode(text).length);
        assert.equal(decoder.decode(lease.bytes.subarray(0, lengthBytes)), text.toWellFormed());
        assert.equal(t.pool.inUseCount(), 1, "the first block is given back when it is too small");
      } finally {
        lease.release();
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("encodeTextLease: larger than the largest block is resource_exhausted, nothing held", async () => {
  const t = openCore();
  try {
    for (const text of ["x".repeat(70_000), "é".repeat(40_000)]) {
      assert.throws(
        () => encodeTextLease(t.services, text),
        (error: unknown) => error instanceof RpcError && error.code === "resource_exhausted",
      );
      assert.equal(t.pool.inUseCount(), 0);
    }
  } finally {
    await t.close();
  }
});
