import assert from "@std/assert";
import { Pool } from "../pool/mod.ts";
import { acquireOrUnavailable, textViaLease, utf8LengthBytes, wireKindOf } from "./dispatch.ts";
import type { Services } from "./method.ts";
import { createRegistry } from "./registry.ts";

function servicesOver(pool: Pool): Services {
  const plan = {
    classes: pool.classes,
    totalBytes: 0,
    maxPropertiesPerOverlap: 128,
    messageBytesMax: 64,
  };
  return {
    store: null,
    pool,
    plan,
    config: { rpcTimeoutMsMax: 1000 },
    registry: createRegistry([]),
  };
}

Deno.test("acquireOrUnavailable: too large is resource_exhausted, exhausted is unavailable", () => {
  const pool = Pool.open([{ blockSizeBytes: 64, blockCount: 1 }]);
  try {
    const services = servicesOver(pool);
    assert.throws(() => acquireOrUnavailable(services, 65), { code: "resource_exhausted" });
    const lease = acquireOrUnavailable(services, 10);
    assert.throws(() => acquireOrUnavailable(services, 10), { code: "unavailable" });
    lease.release();
    assert.equal(pool.inUseCount(), 0);
  } finally {
    pool.close();
  }
});

Deno.test("textViaLease copies the UTF-8 out of a released lease", () => {
  const pool = Pool.open([{ blockSizeBytes: 64, blockCount: 1 }]);
  try {
    const bytes = textViaLease(servicesOver(pool), "héllo ☃ 𝄞");
    assert.equal(new TextDecoder().decode(bytes), "héllo ☃ 𝄞");
    assert.equal(bytes.length, utf8LengthBytes("héllo ☃ 𝄞"));
    assert.equal(bytes.length, new TextEncoder().encode("héllo ☃ 𝄞").length);
    assert.equal(pool.inUseCount(), 0);
  } finally {
    pool.close();
  }
});

Deno.test("wireKindOf accepts the two media types with parameters, nothing else", () => {
  assert.equal(wireKindOf("application/json; charset=utf-8"), "json");
  assert.equal(wireKindOf("application/capnp"), "capnp");
  assert.equal(wireKindOf("text/plain"), null);
  assert.equal(wireKindOf(null), null);
});

Deno.test("a Response copies its Uint8Array body (the shared 501 bodies rely on it)", async () => {
  const shared = new Uint8Array([1, 2, 3]);
  const response = new Response(shared, { status: 501 });
  shared.fill(9);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array([1, 2, 3]));
  assert.equal(shared.buffer.detached, false);
});
