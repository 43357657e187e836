/**
 * main.ts as a real subprocess: `--dry-run` JSON, exit statuses, `--help`, and a boot that maps
 * the pool and shuts down cleanly on SIGTERM.
 */
import assert from "@std/assert";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The permissions `deno task start` grants. */
const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-ffi",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function runMain(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...PERMISSIONS, MAIN, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
  const output = await command.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

interface PlanJson {
  profile: string;
  budgetBytes: number;
  budgetSource: string;
  totalBytes: number;
  maxPropertiesPerOverlap: number;
  messageBytesMax: number;
  classes: { blockSizeBytes: number; blockCount: number; bytes: number }[];
}

function assertPlanJson(plan: PlanJson): void {
  assert.ok(plan.totalBytes <= plan.budgetBytes, `${plan.totalBytes} > ${plan.budgetBytes}`);
  assert.ok(plan.maxPropertiesPerOverlap >= 128 && plan.maxPropertiesPerOverlap <= 4096);
  const largest = plan.classes[plan.classes.length - 1];
  assert.ok(largest.blockSizeBytes >= plan.messageBytesMax);
  for (const c of plan.classes) {
    assert.ok(c.blockCount >= 1);
    assert.equal(c.bytes, c.blockSizeBytes * c.blockCount);
  }
}

Deno.test("--dry-run --pool-bytes 64MiB prints a plan within exactly that budget", async () => {
  const run = await runMain(["--dry-run", "--pool-bytes", "64MiB"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  const plan = JSON.parse(run.stdout) as PlanJson;
  assert.equal(plan.budgetBytes, 67108864);
  assert.equal(plan.budgetSource, "flag");
  assert.equal(plan.profile, "rpc");
  assert.ok(plan.totalBytes <= 67108864);
  assertPlanJson(plan);
});

Deno.test("--dry-run on the machine's memory, with env and profile", async () => {
  const auto = await runMain(["--dry-run"]);
  assert.equal(auto.code, 0, auto.stderr);
  const plan = JSON.parse(auto.stdout) as PlanJson;
  assert.ok(["meminfo", "cgroup-v2", "cgroup-v1", "cgroup"].includes(plan.budgetSource));
  assertPlanJson(plan);
  const env = await runMain(["--dry-run", "--profile=bulk"], { WORKNODE_POOL_BYTES: "32MiB" });
  assert.equal(env.code, 0, env.stderr);
  const bulk = JSON.parse(env.stdout) as PlanJson;
  assert.equal(bulk.budgetBytes, 32 * 1024 * 1024);
  assert.equal(bulk.profile, "bulk");
  assertPlanJson(bulk);
});

Deno.test("a bad flag exits 2 with one line on stderr", async () => {
  const run = await runMain(["--dry-run", "--port", "http"]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  assert.deepEqual(run.stderr.trimEnd().split("\n"), [
    'Cannot use --port "http": must be an integer in 0..65535',
  ]);
  const unknown = await runMain(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'Unknown option "--bogus" (see --help)\n');
});

Deno.test("an impossible budget (--pool-bytes 1KiB) exits 2 with one line", async () => {
  const run = await runMain(["--dry-run", "--pool-bytes", "1KiB"]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^Cannot plan the pool: budget 1024 bytes \(flag\) is below/);
});

Deno.test("--help lists every option and exits 0", async () => {
  const run = await runMain(["--help"]);
  assert.equal(run.code, 0);
  for (const flag of ["--port", "--pool-bytes", "--store", "--plaintext-port", "--dry-run"]) {
    assert.ok(run.stdout.includes(flag), flag);
  }
});

Deno.test("start serves on free ports, then SIGTERM stops it and exits 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "main-test-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--unstable-net",
      ...PERMISSIONS,
      MAIN,
      "--pool-bytes",
      "8MiB",
      "--port",
      "0",
      "--data-dir",
      dataDir,
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const stderrText = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let stdout = "";
    // Bounded: the plan line and the ready line are a few kilobytes.
    while (!stdout.includes('"msg":"ready"') && stdout.length < 1_000_000) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines[0].msg, "boot plan");
    assert.equal(lines[0].plan.budgetBytes, 8 * 1024 * 1024);
    assertPlanJson(lines[0].plan);
    assert.equal(lines[1].msg, "ready");
    assert.match(lines[1].https, /^https:\/\/127\.0\.0\.1:\d+$/);
    child.kill("SIGTERM");
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      stdout += chunk.value;
    }
    const status = await child.status;
    assert.equal(status.code, 0, await stderrText);
    assert.match(stdout, /"msg":"stopping","signal":"SIGTERM"/);
    assert.match(stdout, /"msg":"stopped"/);
  } finally {
    // On an early failure the child may still run: end it so the test leaks no process.
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await child.status;
    await Deno.remove(dataDir, { recursive: true });
  }
});
