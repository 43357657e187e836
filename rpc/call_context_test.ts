import assert from "@std/assert";
import { errorJson, parseDecimalHeader, raceSignal, toRpcError } from "./call_context.ts";
import { RpcError } from "./errors.ts";

Deno.test("parseDecimalHeader accepts 1..15 digits and refuses the rest", () => {
  assert.equal(parseDecimalHeader("X", null), null);
  assert.equal(parseDecimalHeader("X", "0"), 0);
  assert.equal(parseDecimalHeader("X", "123456789012345"), 123456789012345);
  for (const bad of ["", "1.5", "-1", " 1", "0x10", "1234567890123456"]) {
    assert.throws(() => parseDecimalHeader("X", bad), RpcError, bad);
  }
});

Deno.test("raceSignal settles with the promise, or with the abort reason first", async () => {
  const controller = new AbortController();
  assert.equal(await raceSignal(Promise.resolve(3), controller.signal), 3);
  const never = new Promise<number>(() => {});
  const raced = raceSignal(never, controller.signal);
  controller.abort(new RpcError("canceled", "gone"));
  const error = await raced.catch((e) => e);
  assert.equal(error.code, "canceled");
  await assert.rejects(raceSignal(Promise.resolve(1), controller.signal), RpcError);
});

Deno.test("toRpcError keeps RpcErrors, maps input errors and hides internal ones", () => {
  const original = new RpcError("not_found", "x");
  assert.equal(toRpcError(original, false), original);
  assert.equal(toRpcError(new TypeError("bad"), true).code, "invalid_argument");
  const internal = toRpcError(new Error("secret detail"), false, { quiet: true });
  assert.equal(internal.code, "internal");
  assert.doesNotMatch(internal.message, /secret/);
  assert.deepEqual(JSON.parse(errorJson(original)), {
    error: { code: "not_found", message: "x", details: {} },
  });
});
