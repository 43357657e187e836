import assert from "@std/assert";
import { SheafGlueParamsCodec, SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import { SystemEchoParamsCodec } from "../schema/system_capnp.ts";
import { WorknodeCodec, WorknodeUpdateParamsCodec } from "../schema/worknode_capnp.ts";
import { NestCodec } from "./testdata/nest_capnp.ts";
import { CapnpError, decodeMessage, measureMessage, writeMessage } from "./mod.ts";

function refusesJson(run: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    if (!(error instanceof CapnpError)) return false;
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("the JSON form round-trips and fills defaults for absent fields", () => {
  const json = { id: "wn-1", properties: [{ key: "k" }], version: 7, createdAtMs: -3 };
  const value = WorknodeCodec.fromJson(json);
  assert.deepEqual(value, {
    id: "wn-1",
    kind: "",
    properties: [{ key: "k", value: "" }],
    version: 7,
    createdAtMs: -3,
    updatedAtMs: 0,
  });
  assert.deepEqual(WorknodeCodec.fromJson(WorknodeCodec.toJson(value)), value);
  assert.equal(WorknodeCodec.fromJson({ version: "9007199254740991" }).version, 2 ** 53 - 1);
});

Deno.test("JSON and binary forms give the same value", () => {
  const json = { a: "x", b: "y", properties: [{ key: "k", value: "v é" }] };
  const value = SheafOverlapMessageCodec.fromJson(json);
  const bytes = new Uint8Array(measureMessage(SheafOverlapMessageCodec, value));
  writeMessage(SheafOverlapMessageCodec, value, bytes);
  assert.deepEqual(
    SheafOverlapMessageCodec.toJson(decodeMessage(SheafOverlapMessageCodec, bytes)),
    json,
  );
});

Deno.test("Data is base64 in JSON", () => {
  const value = SystemEchoParamsCodec.fromJson({ payload: "AAEC/w==" });
  assert.deepEqual(value.payload, new Uint8Array([0, 1, 2, 255]));
  assert.deepEqual(SystemEchoParamsCodec.toJson(value), { payload: "AAEC/w==" });
  refusesJson(() => SystemEchoParamsCodec.fromJson({ payload: "%%%" }), "bad_json", /base64/);
});

Deno.test("wrong types, unknown fields and out-of-range numbers are refused with a path", () => {
  refusesJson(
    () => WorknodeCodec.fromJson([]),
    "bad_json",
    /^Cannot read JSON: Worknode must be an object$/,
  );
  refusesJson(
    () => WorknodeCodec.fromJson({ nope: 1 }),
    "bad_json",
    /Worknode\.nope is not a field/,
  );
  refusesJson(() => WorknodeCodec.fromJson({ version: -1 }), "bad_json", /Worknode\.version/);
  refusesJson(() => WorknodeCodec.fromJson({ version: 2 ** 53 }), "bad_json", /safe integer/);
  refusesJson(() => WorknodeCodec.fromJson({ version: 1.5 }), "bad_json", /safe integer/);
  refusesJson(
    () => WorknodeCodec.fromJson({ properties: [{ key: 5 }] }),
    "bad_json",
    /Worknode\.properties\[0\]\.key must be a string/,
  );
  refusesJson(() => SheafGlueParamsCodec.fromJson({ resolve: "yes" }), "bad_json", /boolean/);
});

Deno.test("schema limits apply to the JSON form", () => {
  refusesJson(
    () => WorknodeCodec.fromJson({ properties: [{ key: "é".repeat(129) }] }),
    "too_large",
    /key is 258 bytes, more than 256/,
  );
  const remove = Array.from({ length: 4097 }, () => "k");
  refusesJson(
    () => WorknodeUpdateParamsCodec.fromJson({ remove }),
    "too_large",
    /remove has 4097 elements, more than 4096/,
  );
});

Deno.test("recursive fields are null in JSON when absent", () => {
  const value = NestCodec.fromJson({ child: { value: 2 }, value: 1 });
  assert.deepEqual(value, { child: { child: null, value: 2 }, value: 1 });
  assert.deepEqual(NestCodec.toJson(value), { child: { child: null, value: 2 }, value: 1 });
});
