import assert from "@std/assert";
import { FLOOD, FloodError, FloodGuard } from "./flood.ts";
import { h2Limits } from "./limits.ts";

Deno.test("flood: a cap per interval, credits, and a new interval", () => {
  const guard = new FloodGuard(
    h2Limits({ pingsPerIntervalMax: 3, windowUpdatesPerIntervalMax: 1, floodIntervalMs: 1000 }),
  );
  for (let i = 0; i < 3; i++) guard.count(FLOOD.PING, 0);
  assert.throws(
    () => guard.count(FLOOD.PING, 10),
    (e: unknown) =>
      e instanceof FloodError && e.flood === "ping_flood" && e.codeName === "ENHANCE_YOUR_CALM",
  );
  guard.count(FLOOD.PING, 1000); // a new interval
  assert.equal(guard.countOf(FLOOD.PING), 1);
  guard.credit(FLOOD.WINDOW_UPDATE, 2, 1000);
  for (let i = 0; i < 3; i++) guard.count(FLOOD.WINDOW_UPDATE, 1001);
  assert.throws(() => guard.count(FLOOD.WINDOW_UPDATE, 1002), FloodError);
});
