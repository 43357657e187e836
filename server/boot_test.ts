import assert from "@std/assert";
import { loadConfig } from "../config/mod.ts";
import { rootedFileReader } from "../pool/budget.ts";
import { PoolPlanError } from "../pool/plan.ts";
import { boot, bootPlan } from "./boot.ts";

const MiB = 1024 * 1024;
const NO_ENV = { env: {} };

Deno.test("bootPlan: --pool-bytes is the budget; without it the memory files decide", () => {
  const flag = bootPlan(loadConfig(["--pool-bytes", "64MiB"], NO_ENV));
  assert.equal(flag.budgetBytes, 64 * MiB);
  assert.equal(flag.budgetSource, "flag");
  const read = rootedFileReader(
    new URL("../pool/testdata/cgroup_v1_limited", import.meta.url).pathname,
  );
  const cgroup = bootPlan(loadConfig(["--profile", "bulk"], NO_ENV), { read });
  assert.equal(cgroup.budgetSource, "cgroup-v1");
  assert.equal(cgroup.budgetBytes, 48 * MiB);
  assert.equal(cgroup.profile, "bulk");
  assert.throws(() => bootPlan(loadConfig(["--pool-bytes", "1KiB"], NO_ENV)), PoolPlanError);
});

Deno.test("boot maps the pool exactly as planned, and close releases it", () => {
  const booted = boot(loadConfig(["--pool-bytes", "8MiB"], NO_ENV));
  try {
    assert.equal(booted.pool.regionBytes, booted.plan.totalBytes);
    assert.ok(booted.plan.totalBytes <= 8 * MiB);
    assert.deepEqual(booted.pool.classes, booted.plan.classes);
    const lease = booted.pool.tryAcquire(booted.plan.messageBytesMax);
    if (lease === null) throw new Error("the largest message must fit a free block");
    lease.release();
    assert.equal(booted.pool.inUseCount(), 0);
  } finally {
    booted.close();
  }
  assert.equal(booted.pool.closed, true);
  booted.close();
});
