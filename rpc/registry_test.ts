import assert from "@std/assert";
import { createRegistry, METHOD_ID_NONE, MethodRegistry } from "./registry.ts";
import type { AnyMethodSpec } from "./method.ts";
import { SystemEchoParamsCodec } from "../schema/system_capnp.ts";

function spec(name: string): AnyMethodSpec {
  return {
    name,
    mutating: false,
    requestBytesMax: () => 1024,
    params: SystemEchoParamsCodec,
    result: SystemEchoParamsCodec,
    handle: () => ({}),
  };
}

const encoder = new TextEncoder();
const names = ["system.echo", "system.pool", "worknode.get", "a", "x".repeat(64)];

Deno.test("registry assigns ids in table order and looks up strings", () => {
  const reg = createRegistry(names.map(spec));
  names.forEach((n, i) => assert.equal(reg.lookup(n), i));
  assert.equal(reg.get(2).name, "worknode.get");
  assert.equal(reg.size, names.length);
});

Deno.test("registry looks up raw bytes at an offset without decoding", () => {
  const reg = createRegistry(names.map(spec));
  const buf = new Uint8Array(200);
  names.forEach((n, i) => {
    const b = encoder.encode(n);
    buf.set(b, 7);
    assert.equal(reg.lookupBytes(buf, 7, b.length), i);
  });
  // Same length as system.echo, one byte different (last byte).
  buf.set(encoder.encode("system.echp"), 0);
  assert.equal(reg.lookupBytes(buf, 0, 11), METHOD_ID_NONE);
});

Deno.test("registry rejects empty, over-long, non-ASCII and unknown names", () => {
  const reg = createRegistry(names.map(spec));
  assert.equal(reg.lookup(""), METHOD_ID_NONE);
  assert.equal(reg.lookup("x".repeat(65)), METHOD_ID_NONE);
  assert.equal(reg.lookup("x".repeat(1_000_000)), METHOD_ID_NONE);
  assert.equal(reg.lookup("systém.echo"), METHOD_ID_NONE);
  assert.equal(reg.lookup("system.ech"), METHOD_ID_NONE);
  const nonAscii = encoder.encode("systém.echo");
  assert.equal(reg.lookupBytes(nonAscii, 0, nonAscii.length), METHOD_ID_NONE);
  assert.equal(reg.lookupBytes(new Uint8Array(10), 0, 0), METHOD_ID_NONE);
  assert.equal(reg.lookupBytes(new Uint8Array(100), 0, 65), METHOD_ID_NONE);
  // A range outside the buffer is unknown, never a read past the end.
  assert.equal(reg.lookupBytes(new Uint8Array(5), 3, 11), METHOD_ID_NONE);
  assert.equal(reg.lookupBytes(new Uint8Array(5), -1, 1), METHOD_ID_NONE);
});

Deno.test("registry is frozen after build: add throws, lookup before freeze throws", () => {
  const reg = createRegistry([spec("a.b")]);
  assert.throws(() => reg.add(spec("c.d")), /frozen/);
  const open = new MethodRegistry().add(spec("a.b"));
  assert.throws(() => open.lookup("a.b"), /not frozen/);
  assert.equal(open.freeze().lookup("a.b"), 0);
});

Deno.test("registry refuses duplicate and malformed names at build", () => {
  assert.throws(() => createRegistry([spec("a"), spec("a")]), /already registered/);
  assert.throws(() => createRegistry([spec("")]), RangeError);
  assert.throws(() => createRegistry([spec("x".repeat(65))]), RangeError);
  assert.throws(() => createRegistry([spec("a/b")]), RangeError);
  assert.throws(() => createRegistry([spec("é")]), RangeError);
});

Deno.test("registry refuses a mutating method marked side-effect-free", () => {
  const registry = new MethodRegistry();
  assert.throws(
    () => registry.add({ ...spec("worknode.bad"), mutating: true, sideEffectFree: true }),
    /a mutating method has side effects/,
  );
  registry.add({ ...spec("system.fine"), sideEffectFree: true });
});
