import assert from "@std/assert";
import { type StoreFault, StoreHealth } from "./health.ts";

const FULL: StoreFault = { rpcCode: "unavailable", problem: "the disk is full", sticky: false };
const CORRUPT: StoreFault = {
  rpcCode: "data_loss",
  problem: "the database is corrupt",
  sticky: true,
};

/** A health with a hand-moved clock and its log lines. */
function fixture() {
  const clock = { nowMs: 1_000_000 };
  const lines: string[] = [];
  const health = new StoreHealth("database /d/x.sqlite", {
    log: (line) => lines.push(line),
    holdMs: 5000,
    probeIntervalMs: 1000,
    nowMs: () => clock.nowMs,
  });
  let probes = 0;
  let probeFault: StoreFault | null = null;
  const probe = () => {
    probes++;
    return Promise.resolve(probeFault);
  };
  return {
    clock,
    lines,
    health,
    probe,
    probes: () => probes,
    setProbe: (fault: StoreFault | null) => probeFault = fault,
  };
}

Deno.test("health: a failed write is held for the hold period, then the probe decides", async () => {
  const f = fixture();
  f.health.failed(FULL, new Error("database or disk is full"));
  assert.deepEqual(f.lines, [
    "store: database /d/x.sqlite: the disk is full (database or disk is full); not ready until it clears",
  ]);
  assert.deepEqual(await f.health.report(f.probe), { ok: false, problem: "the disk is full" });
  assert.equal(f.probes(), 0, "no probe while the failure is held");
  // Repeated failures within the hold period log nothing more.
  f.health.failed(FULL);
  assert.equal(f.lines.length, 1);
  f.clock.nowMs += 5000;
  assert.deepEqual(await f.health.report(f.probe), { ok: true, problem: null });
  assert.equal(f.probes(), 1);
  assert.match(f.lines[1], /writes succeed again after 2 failure\(s\)$/);
});

Deno.test("health: a successful write ends a held condition; a probe fault holds nothing", async () => {
  const f = fixture();
  f.health.failed(FULL);
  f.health.succeeded();
  assert.equal(f.health.held(), null);
  f.setProbe(FULL);
  assert.equal((await f.health.report(f.probe)).ok, false);
  // The probe's result is reused within the interval, then the next probe decides alone.
  f.setProbe(null);
  assert.equal((await f.health.report(f.probe)).ok, false);
  assert.equal(f.probes(), 1);
  f.clock.nowMs += 1000;
  assert.equal((await f.health.report(f.probe)).ok, true);
  assert.equal(f.probes(), 2);
});

Deno.test("health: corruption is held until restart, whatever succeeds after it", async () => {
  const f = fixture();
  f.health.failed(CORRUPT);
  f.health.succeeded();
  f.health.failed(FULL);
  f.clock.nowMs += 60_000;
  assert.deepEqual(await f.health.report(f.probe), {
    ok: false,
    problem: "the database is corrupt",
  });
  assert.equal(f.probes(), 0);
  assert.match(f.lines[0], /corrupt; not ready until restart$/);
});

Deno.test("health: concurrent reports share one probe", async () => {
  const f = fixture();
  let release = () => {};
  let probes = 0;
  const slow = () => {
    probes++;
    return new Promise<StoreFault | null>((resolve) => release = () => resolve(null));
  };
  const reports = [f.health.report(slow), f.health.report(slow), f.health.report(slow)];
  release();
  for (const report of await Promise.all(reports)) assert.equal(report.ok, true);
  assert.equal(probes, 1);
});
