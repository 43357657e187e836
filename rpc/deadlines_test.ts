import assert from "@std/assert";
import { cancelDeadline, deadlinesInFlight, scheduleDeadline } from "./deadlines.ts";

Deno.test("deadlines fire once after their time, cancelled ones never; no timer when idle", async () => {
  const fired: string[] = [];
  const soon = scheduleDeadline(Date.now() + 10, () => fired.push("soon"));
  const cancelled = scheduleDeadline(Date.now() + 10, () => fired.push("cancelled"));
  cancelDeadline(cancelled);
  assert.equal(deadlinesInFlight(), 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(fired, ["soon"]);
  assert.equal(deadlinesInFlight(), 0);
  cancelDeadline(soon); // after firing: no effect
  assert.deepEqual(fired, ["soon"]);
});
