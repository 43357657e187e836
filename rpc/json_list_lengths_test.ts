import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import { checkJsonListLengths, JSON_NESTING_DEPTH_MAX } from "./json_list_lengths.ts";

const refused = (value: unknown, lengthMax: number, pattern: RegExp) =>
  assert.throws(
    () => checkJsonListLengths(value, lengthMax),
    (e: unknown) =>
      e instanceof RpcError && e.code === "invalid_argument" && pattern.test(e.message),
  );

Deno.test("checkJsonListLengths bounds every array, at any depth, and nothing else", () => {
  const properties = [{ key: "a", value: "x".repeat(10_000) }, { key: "b", value: "y" }];
  checkJsonListLengths({ a: "a", properties }, 2);
  checkJsonListLengths({ payload: "A".repeat(10_000) }, 0);
  checkJsonListLengths(null, 0);
  refused({ a: "a", properties }, 1, /params\.properties: list length 2 exceeds 1/);
  refused({ outer: { inner: [[1, 2, 3]] } }, 2, /params\.outer\.inner: list length 3 exceeds 2/);
  refused([1, 2], 1, /params: list length 2 exceeds 1/);
  let deep: unknown = [];
  for (let i = 0; i < JSON_NESTING_DEPTH_MAX; i++) deep = [deep];
  refused(deep, 1, /nesting exceeds/);
  assert.throws(() => checkJsonListLengths({}, -1), RangeError);
});
