import assert from "@std/assert";
import {
  HTTP_METHOD,
  httpMethodCode,
  httpMethodCodeOf,
  matchRpcPath,
  matchRpcTarget,
  rpcTargetScratch,
  TARGET_APP,
  TARGET_BATCH,
} from "./route.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The name a target names, "<batch>" or null (the app's). */
function nameOf(target: string): string | null {
  const bytes = encoder.encode(target);
  const end = matchRpcTarget(bytes, 0, bytes.length);
  if (end === TARGET_APP) return null;
  if (end === TARGET_BATCH) return "<batch>";
  return decoder.decode(bytes.subarray(5, end));
}

Deno.test("route: /rpc/<name> is every byte up to ? — nothing decoded, nothing normalized", () => {
  assert.equal(nameOf("/rpc/system.echo"), "system.echo");
  assert.equal(nameOf("/rpc/system.echo?x=1/2#y"), "system.echo");
  // Names that can match no method (looked up as they are, so answered 501):
  assert.equal(nameOf("/rpc/system%2Eecho"), "system%2Eecho");
  assert.equal(nameOf("/rpc/system.echo/"), "system.echo/");
  assert.equal(nameOf("/rpc/a/b"), "a/b");
  assert.equal(nameOf("/rpc/a#b"), "a#b");
  assert.equal(nameOf("/rpc/"), "");
  assert.equal(nameOf("/rpc/?x"), "");
});

Deno.test("route: /rpc and /rpc?query are a batch; everything else is the app's", () => {
  assert.equal(nameOf("/rpc"), "<batch>");
  assert.equal(nameOf("/rpc?x=1"), "<batch>");
  for (const target of ["/", "/healthz", "/rpcx", "/rp", "/x/rpc/a", "/RPC/a", "rpc/a"]) {
    assert.equal(nameOf(target), null, target);
  }
});

Deno.test("route: a string path matches through the same bytes", () => {
  const end = matchRpcPath("/rpc/system.echo?x");
  assert.equal(decoder.decode(rpcTargetScratch().subarray(5, end)), "system.echo");
  assert.equal(matchRpcPath("/rpc"), TARGET_BATCH);
  assert.equal(matchRpcPath("/metrics"), TARGET_APP);
  // A char above 0xff becomes a byte no name has.
  const wide = matchRpcPath("/rpc/sys\u0100");
  assert.equal(rpcTargetScratch()[wide - 1], 0xff);
});

Deno.test("route: HTTP methods are case-sensitive", () => {
  assert.equal(httpMethodCode("POST"), HTTP_METHOD.post);
  assert.equal(httpMethodCode("post"), HTTP_METHOD.other);
  assert.equal(httpMethodCode("OPTIONS"), HTTP_METHOD.options);
  const of = (m: string) => httpMethodCodeOf(encoder.encode(m), 0, m.length);
  assert.equal(of("POST"), HTTP_METHOD.post);
  assert.equal(of("Post"), HTTP_METHOD.other);
  assert.equal(of("GET"), HTTP_METHOD.get);
  assert.equal(of("HEAD"), HTTP_METHOD.head);
  assert.equal(of("OPTIONS"), HTTP_METHOD.options);
  assert.equal(of("DELETE"), HTTP_METHOD.other);
});

Deno.test("route: the call head keeps where the query lies, undecoded", async () => {
  const { CallHead } = await import("./call_head.ts");
  const head = new CallHead();
  const bytes = encoder.encode("xx/rpc/worknode.get?message=e30&encoding=json");
  head.setTarget(bytes, 2, bytes.length, matchRpcTarget(bytes, 2, bytes.length));
  assert.equal(decoder.decode(bytes.subarray(head.nameStart, head.nameEnd)), "worknode.get");
  assert.equal(
    decoder.decode(bytes.subarray(head.queryStart, head.queryEnd)),
    "message=e30&encoding=json",
  );
  assert.equal(head.targetLengthBytes, bytes.length - 2);
  const bare = encoder.encode("/rpc/system.config");
  head.setTarget(bare, 0, bare.length, matchRpcTarget(bare, 0, bare.length));
  assert.equal(head.queryStart, -1);
  // A :path string: the copy holds at most TARGET_BYTES_MAX bytes, the length is the path's.
  const path = "/rpc/system.echo?message=" + "A".repeat(9000);
  head.setTargetFromPath(matchRpcPath(path), path.length);
  assert.equal(head.targetLengthBytes, path.length);
  assert.equal(head.targetBytes.length, 8192);
  assert.equal(head.queryStart, 17);
});
