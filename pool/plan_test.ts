import assert from "@std/assert";
import type { MemoryBudget } from "./budget.ts";
import {
  budgetBytesMin,
  classSizesFor,
  MAX_PROPERTIES_MAX,
  MAX_PROPERTIES_MIN,
  maxPropertiesFor,
  messageBytesMax,
  planPool,
  PoolPlanError,
  type Profile,
} from "./plan.ts";
import { regionBytesFor } from "./pool.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function flagBudget(budgetBytes: number): MemoryBudget {
  return { budgetBytes, source: "flag", usableBytes: null };
}

/** Checks every invariant of the fixed contract and the plan rules on one plan. */
function assertPlanValid(budgetBytes: number, profile: Profile) {
  const plan = planPool(flagBudget(budgetBytes), { profile });
  assert.ok(plan.classes.length >= 1 && plan.classes.length <= 16);
  assert.equal(plan.totalBytes, regionBytesFor(plan.classes));
  assert.ok(plan.totalBytes <= budgetBytes, `${plan.totalBytes} > ${budgetBytes}`);
  assert.ok(plan.maxPropertiesPerOverlap >= MAX_PROPERTIES_MIN);
  assert.ok(plan.maxPropertiesPerOverlap <= MAX_PROPERTIES_MAX);
  assert.equal(plan.messageBytesMax, messageBytesMax(plan.maxPropertiesPerOverlap));
  const largest = plan.classes[plan.classes.length - 1];
  assert.ok(largest.blockSizeBytes >= plan.messageBytesMax);
  let previous = 0;
  for (const c of plan.classes) {
    assert.ok(c.blockSizeBytes % 64 === 0 && c.blockSizeBytes >= 64);
    assert.ok(c.blockSizeBytes > previous, "strictly increasing");
    if (previous > 0) assert.ok(c.blockSizeBytes <= 2 * previous, "ratio <= 2: waste <= 50%");
    assert.ok(Number.isInteger(c.blockCount) && c.blockCount >= 1 && c.blockCount < 2 ** 24);
    previous = c.blockSizeBytes;
  }
  // No more than a smallest block (plus its metadata page) is left unused.
  assert.ok(budgetBytes - plan.totalBytes < 2 * 4096 + 8, `slack ${budgetBytes - plan.totalBytes}`);
  return plan;
}

Deno.test("regionBytesFor (libpool's binding) follows the contract formula", () => {
  assert.equal(regionBytesFor([{ blockSizeBytes: 4096, blockCount: 1 }]), 4096 + 8192);
  // 64-byte blocks: 100 * 64 = 6400 -> 8192; metadata 4096 + 8 * 612 = 8992 -> 12288.
  const classes = [
    { blockSizeBytes: 64, blockCount: 100 },
    { blockSizeBytes: 192, blockCount: 512 },
  ];
  assert.equal(regionBytesFor(classes), 8192 + 98304 + 12288);
});

Deno.test("messageBytesMax: ~8.4 MiB at 1024 properties, held by a 16 MiB class", () => {
  assert.equal(messageBytesMax(1024), 4096 + 1024 * (8192 + 256 + 128));
  assert.ok(messageBytesMax(1024) > 8 * MiB && messageBytesMax(1024) < 9 * MiB);
  const sizes = classSizesFor(messageBytesMax(1024));
  assert.equal(sizes[0], 4096);
  assert.equal(sizes[sizes.length - 1], 16 * MiB);
  assert.equal(classSizesFor(messageBytesMax(4096)).length, 15);
  assert.throws(() => messageBytesMax(-1), RangeError);
});

Deno.test("--pool-bytes 64MiB: the budget exactly, the total within it", () => {
  const plan = assertPlanValid(64 * MiB, "rpc");
  assert.equal(plan.budgetBytes, 67108864);
  assert.equal(plan.budgetSource, "flag");
  assert.equal(plan.profile, "rpc");
  assert.ok(plan.classes[plan.classes.length - 1].blockCount >= 2);
});

Deno.test("plans hold their invariants over a range of budgets and both profiles", () => {
  const budgets = [budgetBytesMin(), 5 * MiB, 16 * MiB, 64 * MiB + 12345, 256 * MiB, 1 * GiB];
  for (const budgetBytes of budgets) {
    for (const profile of ["rpc", "bulk"] as const) assertPlanValid(budgetBytes, profile);
  }
});

Deno.test("random budgets up to 64 GiB keep the invariants (fixed seed)", () => {
  // A small linear congruential generator: deterministic, so a failure reproduces.
  let state = 20261126;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const logMin = Math.log2(budgetBytesMin());
  for (let i = 0; i < 200; i++) {
    const budgetBytes = Math.floor(2 ** (logMin + next() * (36 - logMin)));
    assertPlanValid(budgetBytes, i % 2 === 0 ? "rpc" : "bulk");
  }
  assertPlanValid(64 * GiB, "rpc");
  assertPlanValid(64 * GiB, "bulk");
});

Deno.test("maxPropertiesPerOverlap: 128 small, 1024 normal, 4096 large", () => {
  assert.equal(maxPropertiesFor(16 * MiB, "rpc"), 128);
  assert.equal(maxPropertiesFor(64 * MiB, "rpc"), 128);
  assert.equal(maxPropertiesFor(128 * MiB, "rpc"), 256);
  assert.equal(maxPropertiesFor(512 * MiB, "rpc"), 1024);
  assert.equal(maxPropertiesFor(1 * GiB, "rpc"), 2048);
  assert.equal(maxPropertiesFor(2 * GiB, "rpc"), 4096);
  assert.equal(maxPropertiesFor(64 * GiB, "rpc"), 4096);
  assert.equal(maxPropertiesFor(1 * GiB, "bulk"), 4096);
  // The largest class's two blocks stay within the profile's share once above the minimum.
  const plan = planPool(flagBudget(512 * MiB), { profile: "rpc" });
  const largest = plan.classes[plan.classes.length - 1];
  assert.equal(largest.blockSizeBytes, 16 * MiB);
  assert.ok(2 * largest.blockSizeBytes <= (512 * MiB) / 16);
});

Deno.test("profiles differ: bulk gives more bytes to the largest classes", () => {
  const rpc = planPool(flagBudget(256 * MiB), { profile: "rpc" });
  const bulk = planPool(flagBudget(256 * MiB), { profile: "bulk" });
  const bytesAbove1MiB = (plan: typeof rpc) =>
    plan.classes.filter((c) => c.blockSizeBytes > MiB)
      .reduce((sum, c) => sum + c.blockSizeBytes * c.blockCount, 0);
  assert.ok(bytesAbove1MiB(bulk) > 2 * bytesAbove1MiB(rpc));
  assert.ok(rpc.classes[0].blockCount > bulk.classes[0].blockCount);
});

Deno.test("the plan is deeply frozen", () => {
  const plan = planPool(flagBudget(64 * MiB));
  assert.ok(Object.isFrozen(plan));
  assert.ok(Object.isFrozen(plan.classes));
  assert.ok(plan.classes.every((c) => Object.isFrozen(c)));
  assert.throws(() => {
    (plan as { maxPropertiesPerOverlap: number }).maxPropertiesPerOverlap = 9;
  }, TypeError);
});

Deno.test("an impossible budget is a PoolPlanError with one line", () => {
  assert.throws(() => planPool(flagBudget(1024)), PoolPlanError);
  assert.throws(() => planPool(flagBudget(budgetBytesMin() - 1)), (error: Error) => {
    assert.ok(error instanceof PoolPlanError);
    assert.match(error.message, /^Cannot plan the pool: budget \d+ bytes \(flag\) is below/);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
  assert.equal(planPool(flagBudget(budgetBytesMin())).classes.at(-1)?.blockCount, 1);
});

Deno.test("bad arguments are rejected", () => {
  assert.throws(() => planPool(flagBudget(64 * MiB), { profile: "x" as Profile }), TypeError);
  assert.throws(() => planPool(flagBudget(-5)), RangeError);
  assert.throws(() => planPool(flagBudget(Number.NaN)), RangeError);
});
