import assert from "@std/assert";
import {
  BUDGET_BYTES_AUTO_MAX,
  BUDGET_BYTES_AUTO_MIN,
  memoryBudget,
  parseCgroupBytes,
  parseMemAvailableBytes,
  parseProcSelfCgroup,
  readCgroupRemaining,
  rootedFileReader,
} from "./budget.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function fixture(name: string) {
  return rootedFileReader(new URL(`./testdata/${name}`, import.meta.url).pathname);
}

Deno.test("parseMemAvailableBytes reads the kB figure", () => {
  const text = Deno.readTextFileSync(
    new URL("./testdata/meminfo_only/proc/meminfo", import.meta.url),
  );
  assert.equal(parseMemAvailableBytes(text), 8 * GiB);
});

Deno.test("parseMemAvailableBytes rejects a meminfo without MemAvailable", () => {
  const text = fixture("meminfo_broken")("/proc/meminfo") ?? "";
  assert.ok(text.startsWith("MemTotal:"));
  assert.throws(() => parseMemAvailableBytes(text), /no 'MemAvailable: N kB' line/);
});

Deno.test("parseCgroupBytes: numbers, max, huge and garbage", () => {
  assert.equal(parseCgroupBytes("536870912\n"), 512 * MiB);
  assert.equal(parseCgroupBytes("max\n"), null);
  assert.equal(parseCgroupBytes("9223372036854771712\n"), null);
  assert.equal(parseCgroupBytes(String(2 ** 53 - 1)), 2 ** 53 - 1);
  assert.throws(() => parseCgroupBytes("-1"), RangeError);
  assert.throws(() => parseCgroupBytes("12 kB"), /Cannot parse cgroup memory value/);
});

Deno.test("parseProcSelfCgroup finds the v2 and the v1 memory paths", () => {
  const hybrid = "12:pids:/docker/3f2a\n9:cpu,cpuacct:/x\n4:memory:/docker/3f2a\n0::/docker/3f2a\n";
  assert.deepEqual(parseProcSelfCgroup(hybrid), {
    v2Path: "/docker/3f2a",
    v1MemoryPath: "/docker/3f2a",
  });
  assert.deepEqual(parseProcSelfCgroup("0::/user.slice\n"), {
    v2Path: "/user.slice",
    v1MemoryPath: null,
  });
  assert.deepEqual(parseProcSelfCgroup("garbage\n\n"), { v2Path: null, v1MemoryPath: null });
});

Deno.test("cgroup v2 with a limit: memory.max minus memory.current", () => {
  const budget = memoryBudget({ read: fixture("cgroup_v2_limited") });
  assert.deepEqual(budget, {
    budgetBytes: 96 * MiB,
    source: "cgroup-v2",
    usableBytes: 384 * MiB,
  });
});

Deno.test("cgroup v2: a tighter parent caps the leaf", () => {
  const remaining = readCgroupRemaining(fixture("cgroup_v2_nested"));
  assert.deepEqual(remaining, { source: "cgroup-v2", remainingBytes: 568 * MiB });
  assert.equal(memoryBudget({ read: fixture("cgroup_v2_nested") }).budgetBytes, 142 * MiB);
});

Deno.test("cgroup v2 'max' means no limit: MemAvailable decides", () => {
  assert.equal(readCgroupRemaining(fixture("cgroup_v2_max")), null);
  const budget = memoryBudget({ read: fixture("cgroup_v2_max") });
  assert.equal(budget.source, "meminfo");
  assert.equal(budget.usableBytes, 8 * GiB);
  // A quarter of 8 GiB is 2 GiB, above the automatic maximum.
  assert.equal(budget.budgetBytes, BUDGET_BYTES_AUTO_MAX);
});

Deno.test("cgroup v1 with a limit (hybrid host): limit_in_bytes minus usage", () => {
  const budget = memoryBudget({ read: fixture("cgroup_v1_limited") });
  assert.deepEqual(budget, { budgetBytes: 48 * MiB, source: "cgroup-v1", usableBytes: 192 * MiB });
});

Deno.test("cgroup v1 unlimited (9223372036854771712): MemAvailable decides", () => {
  assert.equal(readCgroupRemaining(fixture("cgroup_v1_unlimited")), null);
  assert.equal(memoryBudget({ read: fixture("cgroup_v1_unlimited") }).source, "meminfo");
});

Deno.test("meminfo only: clamped to the automatic minimum and maximum", () => {
  const small = memoryBudget({ read: fixture("meminfo_small") });
  assert.deepEqual(small, {
    budgetBytes: BUDGET_BYTES_AUTO_MIN,
    source: "meminfo",
    usableBytes: 40 * MiB,
  });
  const huge = memoryBudget({ read: fixture("meminfo_huge") });
  assert.equal(huge.budgetBytes, BUDGET_BYTES_AUTO_MAX);
  const only = memoryBudget({ read: fixture("meminfo_only") });
  assert.equal(only.source, "meminfo");
});

Deno.test("a missing /proc/meminfo is a clear error", () => {
  assert.throws(() => memoryBudget({ read: fixture("no_such_fixture") }), /meminfo is unreadable/);
});

Deno.test("the flag is the budget exactly, frozen", () => {
  const budget = memoryBudget({ poolBytes: 64 * MiB, read: fixture("cgroup_v2_limited") });
  assert.deepEqual(budget, { budgetBytes: 67108864, source: "flag", usableBytes: null });
  assert.ok(Object.isFrozen(budget));
  assert.throws(() => memoryBudget({ poolBytes: 0 }), RangeError);
  assert.throws(() => memoryBudget({ poolBytes: 1.5 }), RangeError);
});

/** A reader that behaves as Deno does for /proc and /sys without --allow-all. */
function notCapableReader(path: string): string | null {
  throw new Deno.errors.NotCapable(`Requires all access to "${path}"`);
}

Deno.test("without access to /proc and /sys the probes decide, cgroup limit minus RSS", () => {
  const probes = {
    memAvailableBytes: () => 8 * GiB,
    cgroupLimitBytes: () => 512 * MiB,
    rssBytes: () => 64 * MiB,
  };
  assert.deepEqual(memoryBudget({ read: notCapableReader, probes }), {
    budgetBytes: 112 * MiB,
    source: "cgroup",
    usableBytes: 448 * MiB,
  });
  const unlimited = { ...probes, cgroupLimitBytes: () => null };
  assert.deepEqual(memoryBudget({ read: notCapableReader, probes: unlimited }), {
    budgetBytes: BUDGET_BYTES_AUTO_MAX,
    source: "meminfo",
    usableBytes: 8 * GiB,
  });
});

Deno.test("a /sys that refuses reads falls back for the cgroup only", () => {
  const files = fixture("cgroup_v2_limited");
  const read = (path: string) => path.startsWith("/sys/") ? notCapableReader(path) : files(path);
  const probes = {
    memAvailableBytes: () => assert.fail("meminfo was readable"),
    cgroupLimitBytes: () => 256 * MiB,
    rssBytes: () => 0,
  };
  assert.deepEqual(memoryBudget({ read, probes }), {
    budgetBytes: 64 * MiB,
    source: "cgroup",
    usableBytes: 256 * MiB,
  });
});

Deno.test("the real machine gives a budget within the automatic bounds", () => {
  const budget = memoryBudget();
  assert.ok(budget.budgetBytes >= BUDGET_BYTES_AUTO_MIN);
  assert.ok(budget.budgetBytes <= BUDGET_BYTES_AUTO_MAX);
  assert.notEqual(budget.source, "flag");
});
