import assert from "@std/assert";
import { Clock, type Timeout } from "./clock.ts";

function entry(onTimeout: (nowMs: number) => void = () => {}): Timeout {
  return { clockSlot: -1, deadlineAtMs: 0, onTimeout };
}

Deno.test("clock: an armed timeout fires once after its deadline, a disarmed one never", async () => {
  const clock = new Clock({ tickMs: 2 });
  const fired: string[] = [];
  const a = entry(() => fired.push("a"));
  const b = entry(() => fired.push("b"));
  clock.armIn(a, 5);
  clock.armIn(b, 5);
  clock.disarm(b);
  await clock.sleep(30);
  assert.deepEqual(fired, ["a"]);
  assert.equal(clock.isArmed(a), false);
  assert.equal(a.clockSlot, -1);
  clock.close();
});

Deno.test("clock: re-arming moves the deadline without a second entry", async () => {
  const clock = new Clock({ tickMs: 2 });
  let count = 0;
  const a = entry(() => count++);
  clock.armIn(a, 1000);
  clock.armIn(a, 3);
  assert.equal(clock.armedCount, 1);
  await clock.sleep(30);
  assert.equal(count, 1);
  clock.close();
});

Deno.test("clock: disarm keeps the other entries' slots right (swap with the last)", () => {
  const clock = new Clock();
  const entries = Array.from({ length: 5 }, () => entry());
  for (const e of entries) clock.armIn(e, 10_000);
  clock.disarm(entries[1]);
  clock.disarm(entries[4]);
  assert.equal(clock.armedCount, 3);
  for (const e of [entries[0], entries[2], entries[3]]) assert.equal(clock.isArmed(e), true);
  clock.disarm(entries[1]); // Not armed: no effect.
  assert.equal(clock.armedCount, 3);
  clock.close();
  assert.equal(clock.armedCount, 0);
  assert.throws(() => clock.armIn(entries[0], 1), /closed/);
});

Deno.test("clock: a handler may re-arm its own entry; a throwing handler spares the others", async () => {
  const clock = new Clock({ tickMs: 2 });
  let rounds = 0;
  let other = 0;
  const again: Timeout = entry(() => {
    if (++rounds < 3) clock.armIn(again, 2);
  });
  const bad = entry(() => {
    throw new Error("boom");
  });
  const good = entry(() => other++);
  const originalError = console.error;
  console.error = () => {};
  try {
    clock.armIn(again, 2);
    clock.armIn(bad, 2);
    clock.armIn(good, 2);
    await clock.sleep(60);
  } finally {
    console.error = originalError;
  }
  assert.equal(rounds, 3);
  assert.equal(other, 1);
  clock.close();
});

Deno.test("clock: the interval stops after an idle tick and restarts when armed", async () => {
  const clock = new Clock({ tickMs: 2 });
  await clock.sleep(4);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(clock.ticking, false);
  await clock.sleep(4);
  clock.close();
  assert.equal(clock.ticking, false);
});

Deno.test("clock: within resolves with the promise or the late value", async () => {
  const clock = new Clock({ tickMs: 2 });
  assert.equal(await clock.within(Promise.resolve(7), 1000, "late"), 7);
  assert.equal(await clock.within(new Promise(() => {}), 5, "late"), "late");
  await assert.rejects(clock.within(Promise.reject(new Error("x")), 1000, "late"), /x/);
  assert.equal(clock.armedCount, 0);
  assert.throws(() => new Clock({ tickMs: 0 }), RangeError);
  clock.close();
});
