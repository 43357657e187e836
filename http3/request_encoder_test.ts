import assert from "@std/assert";
import { FrameParser } from "./frame.ts";
import { decodeFieldSection } from "./qpack.ts";
import { RequestEncoder } from "./request_encoder.ts";

/** Parses the encoder's output as a server does: the head's fields and the body. */
function parse(bytes: Uint8Array): { fields: [string, string][]; body: number[] } {
  const parser = new FrameParser({ streamKind: "request", role: "server" });
  parser.push(bytes);
  const fields: [string, string][] = [];
  const body: number[] = [];
  for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
    if (frame.type === "headers") {
      fields.push(...decodeFieldSection(frame.fieldSection).fields as [string, string][]);
    } else if (frame.type === "data") body.push(...frame.bytes);
  }
  parser.finish();
  return { fields, body };
}

Deno.test("RequestEncoder: HEADERS with a content-length, then one DATA frame; repeats are equal", () => {
  const encoder = new RequestEncoder("localhost:1");
  const request = {
    method: "POST",
    url: "https://localhost:8443/rpc/system.echo?x=1",
    headers: [["Content-Type", "application/json"], ["host", "localhost:8443"]] as const,
    body: new Uint8Array([1, 2, 3]),
  };
  const first = encoder.encode(request);
  assert.deepEqual(parse(first), {
    fields: [
      [":method", "POST"],
      [":scheme", "https"],
      [":authority", "localhost:8443"],
      [":path", "/rpc/system.echo?x=1"],
      ["content-type", "application/json"],
      ["content-length", "3"],
    ],
    body: [1, 2, 3],
  });
  // The second encode comes from the cache; another body of the same length reuses the head.
  assert.deepEqual(encoder.encode(request), first);
  const other = parse(encoder.encode({ ...request, body: new Uint8Array([7, 8, 9]) }));
  assert.deepEqual(other.body, [7, 8, 9]);
  const get = parse(
    encoder.encode({ method: "GET", url: "https://h/healthz", headers: [], body: null }),
  );
  assert.deepEqual(get.fields.map(([name]) => name), [":method", ":scheme", ":authority", ":path"]);
  assert.deepEqual(get.body, []);
});

Deno.test("RequestEncoder: a relative URL or a forbidden header is a TypeError", () => {
  const encoder = new RequestEncoder("localhost:1");
  const base = { method: "GET", url: "https://h/", headers: [] as [string, string][], body: null };
  assert.throws(() => encoder.encode({ ...base, url: "/relative" }), TypeError);
  assert.throws(() => encoder.encode({ ...base, headers: [["bad name", "x"]] }), TypeError);
  assert.throws(() => encoder.encode({ ...base, headers: [["x-a", "line\nbreak"]] }), TypeError);
});
