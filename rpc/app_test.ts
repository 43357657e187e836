import assert from "@std/assert";
import { rpcMethodSegment } from "./app.ts";

Deno.test("rpcMethodSegment takes exactly /rpc/<segment> and leaves the rest to the router", () => {
  assert.equal(rpcMethodSegment("http://h:1/rpc/system.echo"), "system.echo");
  assert.equal(rpcMethodSegment("https://[::1]:8443/rpc/a.b?x=/y"), "a.b");
  assert.equal(rpcMethodSegment("http://h/rpc/a#frag"), "a");
  assert.equal(rpcMethodSegment("http://h/rpc/"), null);
  assert.equal(rpcMethodSegment("http://h/rpc"), null);
  assert.equal(rpcMethodSegment("http://h/rpc/a/b"), null);
  assert.equal(rpcMethodSegment("http://h/rpc/a%2Eb"), null);
  assert.equal(rpcMethodSegment("http://h/healthz"), null);
  assert.equal(rpcMethodSegment("http://h/x/rpc/a"), null);
  assert.equal(rpcMethodSegment("not a url"), null);
});
