import assert from "@std/assert";
import { DeadlineScheduler } from "./deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("deadlines fire once after their time, cancelled ones never; the timer stops idle", async () => {
  const deadlines = new DeadlineScheduler();
  try {
    const fired: string[] = [];
    const soon = deadlines.schedule(Date.now() + 10, () => fired.push("soon"));
    const cancelled = deadlines.schedule(Date.now() + 10, () => fired.push("cancelled"));
    deadlines.cancel(cancelled);
    assert.equal(deadlines.size, 1);
    await sleep(60);
    assert.deepEqual(fired, ["soon"]);
    assert.equal(deadlines.size, 0);
    assert.equal(deadlines.ticking, false);
    deadlines.cancel(soon); // After firing: no effect.
    assert.deepEqual(fired, ["soon"]);
  } finally {
    deadlines.close();
  }
});

Deno.test("close stops the timer at once and refuses new deadlines", () => {
  const deadlines = new DeadlineScheduler();
  deadlines.schedule(Date.now() + 1000, () => {
    throw new Error("must not fire");
  });
  assert.equal(deadlines.ticking, true);
  deadlines.close();
  assert.equal(deadlines.ticking, false);
  assert.throws(() => deadlines.schedule(Date.now(), () => {}), /closed/);
});

Deno.test("deadlines: cancelling from the middle keeps the others; double cancel and add are no-ops", async () => {
  const deadlines = new DeadlineScheduler();
  const hold = setTimeout(() => {}, 10_000); // The scheduler's timer is unref'd.
  try {
    const fired: string[] = [];
    const entries = ["a", "b", "c", "d"].map((name) =>
      deadlines.schedule(Date.now() + 10, () => fired.push(name))
    );
    deadlines.cancel(entries[1]);
    deadlines.cancel(entries[1]);
    deadlines.add(entries[2]);
    assert.equal(deadlines.size, 3);
    assert.equal(entries[1].deadlineSlot, -1);
    await sleep(60);
    assert.deepEqual(fired.sort(), ["a", "c", "d"]);
    assert.equal(deadlines.size, 0);
  } finally {
    clearTimeout(hold);
    deadlines.close();
  }
});
