import assert from "@std/assert";
import type { CallAnswer } from "../rpc/answer.ts";
import { FrameParser } from "./frame.ts";
import { decodeFieldSection } from "./qpack.ts";
import { AnswerHeadEncoder } from "./rpc_route.ts";

function answer(status: number, body: Uint8Array, retryAfterSeconds: number | null): CallAnswer {
  const fields = retryAfterSeconds === null
    ? []
    : [["retry-after", String(retryAfterSeconds)] as const];
  return { status, contentType: "application/capnp", fields, body, release() {} };
}

/** Parses HEADERS + DATA as a client does. */
function parse(bytes: Uint8Array): { fields: [string, string][]; body: Uint8Array } {
  const parser = new FrameParser({ streamKind: "request", role: "client" });
  parser.push(bytes);
  const headers = parser.next();
  const data = parser.next();
  assert.equal(parser.next(), undefined);
  parser.finish();
  if (headers?.type !== "headers" || data?.type !== "data") throw new Error("not HEADERS + DATA");
  return {
    fields: decodeFieldSection(headers.fieldSection).fields as [string, string][],
    body: data.bytes,
  };
}

Deno.test("AnswerHeadEncoder: status, type, extra headers, retry-after and length, then the body", () => {
  const heads = new AnswerHeadEncoder([["alt-svc", 'h3=":443"']]);
  const body = new Uint8Array(300).map((_, i) => i);
  for (let round = 0; round < 2; round++) {
    // The second round comes from the cache and must be the same.
    const ok = parse(heads.headersAndData(answer(200, body, null)));
    assert.deepEqual(ok.fields, [
      [":status", "200"],
      ["content-type", "application/capnp"],
      ["alt-svc", 'h3=":443"'],
      ["content-length", "300"],
    ]);
    assert.deepEqual(ok.body, body);
  }
  const busy = parse(heads.headersAndData(answer(503, new Uint8Array(0), 1)));
  assert.deepEqual(busy.fields, [
    [":status", "503"],
    ["content-type", "application/capnp"],
    ["retry-after", "1"],
    ["alt-svc", 'h3=":443"'],
    ["content-length", "0"],
  ]);
  assert.equal(busy.body.length, 0);
});
