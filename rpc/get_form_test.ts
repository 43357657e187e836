import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import { decodeMessageInto, parseGetQuery } from "./get_form.ts";

const encoder = new TextEncoder();

function query(text: string) {
  const bytes = encoder.encode(text);
  return { bytes, query: parseGetQuery(bytes, 0, bytes.length) };
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

Deno.test("GET form: message and encoding, in any order; other parameters ignored", () => {
  for (let n = 0; n < 40; n++) {
    const message = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const padded = base64Url(message);
    for (const text of [padded, padded.replace(/=+$/, "")]) {
      const { bytes, query: q } = query(`_=1&encoding=capnp&message=${text}&connect=v1`);
      assert.equal(q.wire, "capnp");
      assert.equal(q.decodedBytes, n);
      const out = new Uint8Array(n);
      assert.equal(decodeMessageInto(bytes, q, out), n);
      assert.deepEqual(out, message, text);
    }
  }
  const none = parseGetQuery(new Uint8Array(0), -1, 0);
  assert.deepEqual([none.wire, none.decodedBytes], ["json", 0]);
  assert.equal(query("message=").query.decodedBytes, 0);
});

Deno.test("GET form: refusals are 400 (415 for another encoding)", () => {
  const status = (text: string) => {
    try {
      query(text);
      return 0;
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      return error.httpStatus;
    }
  };
  assert.equal(status("message=a+b"), 400, "base64, not base64url");
  assert.equal(status("message=ab%3D"), 400, "percent-escapes are not decoded");
  assert.equal(status("message=abcde"), 400, "a length no base64 has");
  assert.equal(status("message=ab=="), 0);
  assert.equal(status("message=abc=="), 400, "bad padding");
  assert.equal(status("message=YQ&message=YQ"), 400);
  assert.equal(status("encoding=json&encoding=json"), 400);
  assert.equal(status("encoding=proto"), 415);
  assert.equal(status("encoding"), 415);
});
