import assert from "@std/assert";
import {
  createCallSignal,
  errorJson,
  parseDecimalHeader,
  raceSignal,
  toRpcError,
} from "./call_context.ts";
import { DeadlineScheduler } from "./deadlines.ts";
import { RpcError } from "../errors/rpc_error.ts";

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

Deno.test("call signal: race rejects at the deadline; a signal asked for later is aborted", async () => {
  const deadlines = new DeadlineScheduler();
  // The scheduler's timer is unref'd: this one keeps the test's event loop alive meanwhile.
  const hold = setTimeout(() => {}, 10_000);
  try {
    const call = createCallSignal(10, deadlines);
    assert.equal(await call.race(Promise.resolve(7)), 7);
    const error = await call.race(new Promise<never>(() => {})).catch((e) => e);
    assert.ok(error instanceof RpcError);
    assert.equal(error.code, "deadline_exceeded");
    assert.equal(call.signal.aborted, true, "made after expiry, the signal is already aborted");
    assert.equal(call.signal.reason, error);
    await assert.rejects(call.race(Promise.resolve(1)), RpcError);
    call.dispose();
  } finally {
    clearTimeout(hold);
    deadlines.close();
  }
});

Deno.test("call signal: a watched client abort cancels the call and its signal", async () => {
  const deadlines = new DeadlineScheduler();
  try {
    const call = createCallSignal(60_000, deadlines);
    const signal = call.signal;
    const client = new AbortController();
    call.watchClient(client.signal);
    const raced = call.race(new Promise<never>(() => {}));
    client.abort();
    const error = await raced.catch((e) => e);
    assert.equal(error.code, "canceled");
    assert.equal(signal.aborted, true);
    call.dispose();
    assert.equal(deadlines.size, 0, "dispose cancels the deadline");
  } finally {
    deadlines.close();
  }
});

Deno.test("call signal: scheduled only once something can wait; a late race still expires", async () => {
  const deadlines = new DeadlineScheduler();
  const hold = setTimeout(() => {}, 10_000);
  try {
    const quick = createCallSignal(1, deadlines);
    assert.equal(deadlines.size, 0, "a call without an await never reaches the scheduler");
    quick.dispose();
    assert.equal(deadlines.ticking, false);
    const late = createCallSignal(1, deadlines);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The deadline passed before anything waited: the first race still ends at it.
    const error = await late.race(new Promise<never>(() => {})).catch((e) => e);
    assert.equal(error.code, "deadline_exceeded");
    late.dispose();
    assert.equal(deadlines.size, 0);
  } finally {
    clearTimeout(hold);
    deadlines.close();
  }
});
