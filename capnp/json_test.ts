import assert from "@std/assert";
import { SheafGlueParamsCodec, SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import { SystemEchoParamsCodec } from "../schema/system_capnp.ts";
import {
  WorknodeCodec,
  WorknodeGetResultCodec,
  WorknodeListParamsCodec,
  WorknodeUpdateParamsCodec,
} from "../schema/worknode_capnp.ts";
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
  assert.equal(WorknodeCodec.fromJson({ version: 9007199254740991 }).version, 2 ** 53 - 1);
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
  for (const loose of ["AAEC/w", "AAEC /w==", "AA=EC/w==", "AAEC/w===", "AAEC\n/w=="]) {
    refusesJson(() => SystemEchoParamsCodec.fromJson({ payload: loose }), "bad_json", /base64/);
  }
  refusesJson(
    () => SystemEchoParamsCodec.fromJson({ payload: [0, 1] }),
    "bad_json",
    /SystemEchoParams\.payload must be base64 text, not an array/,
  );
});

Deno.test("wrong types, unknown fields and out-of-range numbers are refused with a path", () => {
  refusesJson(
    () => WorknodeCodec.fromJson([]),
    "bad_json",
    /^Cannot read JSON: Worknode must be an object, not an array$/,
  );
  refusesJson(
    () => WorknodeCodec.fromJson({ nope: 1 }),
    "bad_json",
    /Worknode\.nope is not a field/,
  );
  refusesJson(() => WorknodeCodec.fromJson({ version: -1 }), "bad_json", /Worknode\.version/);
  refusesJson(
    () => WorknodeCodec.fromJson({ version: 2 ** 53 }),
    "bad_json",
    /Worknode\.version must be an integer in 0\.\.9007199254740991, not 9007199254740992/,
  );
  refusesJson(() => WorknodeCodec.fromJson({ version: 1.5 }), "bad_json", /integer.*not 1\.5/);
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

/** Wrongly typed JSON values, and what their refusal says. */
const STRICT_CASES: [() => unknown, RegExp][] = [
  [
    () => WorknodeListParamsCodec.fromJson({ limit: "2" }),
    /ListParams\.limit must be a number, not a string$/,
  ],
  [
    () => WorknodeListParamsCodec.fromJson({ limit: true }),
    /limit must be a number, not a boolean/,
  ],
  [() => WorknodeListParamsCodec.fromJson({ limit: null }), /limit must be a number, not null/],
  [
    () => WorknodeListParamsCodec.fromJson({ limit: [2] }),
    /limit must be a number, not an array/,
  ],
  [() => WorknodeListParamsCodec.fromJson({ limit: 2.5 }), /limit must be an integer/],
  [
    () => WorknodeListParamsCodec.fromJson({ limit: -1 }),
    /limit must be an integer in 0\.\.4294967295/,
  ],
  [() => WorknodeListParamsCodec.fromJson({ limit: 2 ** 32 }), /not 4294967296/],
  [
    () => WorknodeUpdateParamsCodec.fromJson({ expectedVersion: "3" }),
    /expectedVersion must be a number/,
  ],
  [() => WorknodeCodec.fromJson({ createdAtMs: -(2 ** 53) }), /createdAtMs must be an integer/],
  [
    () => WorknodeListParamsCodec.fromJson({ kind: 7 }),
    /ListParams\.kind must be a string, not a number/,
  ],
  [() => WorknodeListParamsCodec.fromJson({ kind: null }), /kind must be a string, not null/],
  [
    () => WorknodeListParamsCodec.fromJson({ kind: "\ud800x" }),
    /kind must be well-formed Unicode/,
  ],
  [
    () => SheafGlueParamsCodec.fromJson({ resolve: 1 }),
    /resolve must be a boolean, not a number/,
  ],
  [
    () => SheafGlueParamsCodec.fromJson({ resolve: "true" }),
    /resolve must be a boolean, not a string/,
  ],
  [
    () => WorknodeUpdateParamsCodec.fromJson({ remove: "k" }),
    /remove must be an array, not a string/,
  ],
  [() => WorknodeUpdateParamsCodec.fromJson({ remove: [1] }), /remove\[0\] must be a string/],
  [
    () => WorknodeUpdateParamsCodec.fromJson({ set: { key: "k" } }),
    /set must be an array, not an object/,
  ],
  [
    () => WorknodeUpdateParamsCodec.fromJson({ set: ["k"] }),
    /set\[0\] must be an object, not a string/,
  ],
  [
    () => WorknodeGetResultCodec.fromJson({ worknode: null }),
    /worknode must be an object, not null/,
  ],
  [
    () => WorknodeGetResultCodec.fromJson({ worknode: [] }),
    /worknode must be an object, not an array/,
  ],
];

Deno.test("the JSON form is strictly typed: a string is not a number, nor a number a string", () => {
  for (const [run, pattern] of STRICT_CASES) refusesJson(run, "bad_json", pattern);
  // The same fields with the right types pass, and -0 is 0.
  const ok = WorknodeListParamsCodec.fromJson({ kind: "k", limit: 2, cursor: "" });
  assert.deepEqual(ok, { kind: "k", cursor: "", limit: 2 });
  assert.ok(Object.is(WorknodeCodec.fromJson({ version: -0 }).version, 0));
});

Deno.test("unknown fields are refused at every depth, naming the field", () => {
  refusesJson(
    () => WorknodeUpdateParamsCodec.fromJson({ id: "w", expectedVersoin: 3 }),
    "bad_json",
    /WorknodeUpdateParams\.expectedVersoin is not a field of this struct/,
  );
  refusesJson(
    () => WorknodeUpdateParamsCodec.fromJson({ set: [{ key: "k", value: "v", extra: 1 }] }),
    "bad_json",
    /WorknodeUpdateParams\.set\[0\]\.extra is not a field/,
  );
  refusesJson(
    () => WorknodeListParamsCodec.fromJson(JSON.parse('{"__proto__": {"limit": 1}}')),
    "bad_json",
    /__proto__ is not a field/,
  );
});
