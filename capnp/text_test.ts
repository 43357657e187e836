import assert from "@std/assert";
import { CapnpError } from "./errors.ts";
import { decodeUtf8, encodeUtf8Into, utf8Length } from "./text.ts";

const SAMPLES = ["", "a", "hello world", "é", "ü€", "😀 smile", "x".repeat(100) + "é", "\u0000"];

Deno.test("utf8Length and encodeUtf8Into agree with TextEncoder", () => {
  for (const s of [...SAMPLES, "\ud800", "a\udc00b", "\ud83d"]) {
    const expected = new TextEncoder().encode(s);
    assert.equal(utf8Length(s), expected.length, JSON.stringify(s));
    const out = new Uint8Array(expected.length + 2);
    encodeUtf8Into(s, out, { start: 1, length: expected.length });
    assert.deepEqual(out.subarray(1, 1 + expected.length), expected);
  }
});

Deno.test("decodeUtf8 decodes short and long, ASCII and not", () => {
  for (const s of SAMPLES) {
    const bytes = new TextEncoder().encode(`..${s}`);
    assert.equal(decodeUtf8(bytes, 2, bytes.length - 2), s);
  }
});

Deno.test("decodeUtf8 refuses invalid UTF-8 (overlong, surrogates, truncated)", () => {
  for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0x61, 0x80]]) {
    assert.throws(
      () => decodeUtf8(new Uint8Array(bad), 0, bad.length),
      (e: unknown) => e instanceof CapnpError && e.code === "bad_text",
    );
  }
});
