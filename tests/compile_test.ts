/**
 * `deno task compile`: the executable's permissions match `deno task start`, and (when
 * DENORT_BIN names a local denort runtime) the built executable boots, answers one RPC over
 * plaintext HTTP/1.1 with the generated admin token, and exits 0 on SIGTERM.
 */

import assert from "@std/assert";
import { runCommand } from "./_command.ts";
import { freePort, START_FLAGS } from "./_service_process.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const COMPILE_SCRIPT = new URL("../scripts/compile.sh", import.meta.url).pathname;
/** How long the service may take to boot (dev certificates, a prefaulted pool) on a loaded box. */
const BOOT_TIMEOUT_MS = 60_000;

/** The start task's `--allow-*` and `--v8-flags=` flags (START_FLAGS without `--unstable-net`). */
function startPermissions(): string[] {
  return START_FLAGS.filter((word) => word !== "--unstable-net").sort();
}

function compileScript(args: string[], env: Record<string, string>) {
  return runCommand("bash", [COMPILE_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env: { DENO: Deno.execPath(), ...env },
  });
}

/** Polls `url` until it answers 200 or the child exits or the time is up. */
async function waitHealthy(url: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const until = Date.now() + BOOT_TIMEOUT_MS;
  while (Date.now() < until && !exited) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(exited ? "the service exited during boot" : `no 200 from ${url} in time`);
}

Deno.test("compile: the executable gets exactly the permissions and V8 flags of `deno task start`", async () => {
  const printed = await compileScript(["--print-permissions"], {});
  assert.equal(printed.code, 0, printed.stderr);
  const baked = printed.stdout.trim().split(/\s+/).sort();
  assert.deepEqual(baked, startPermissions());
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  assert.equal(denoJson.tasks.compile.command, "bash scripts/compile.sh");
});

Deno.test("compile: DENORT_BIN naming the deno CLI (not denort) is refused before building", async () => {
  // deno compile would accept it and build an executable that starts Deno's REPL instead.
  const outputDir = await Deno.makeTempDir({ prefix: "compile-refused-" });
  try {
    const refused = await compileScript([], {
      DENORT_BIN: Deno.execPath(),
      WORKNODE_OUTPUT: `${outputDir}/worknode`,
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /is the deno CLI, not a denort runtime/);
    assert.deepEqual([...Deno.readDirSync(outputDir)], []);
  } finally {
    await Deno.remove(outputDir, { recursive: true });
  }
});

Deno.test("compile: with the baked permissions alone, main.ts boots, answers, exits 0 on SIGTERM", async () => {
  // The same run as the executable's below, from source: a permission the service needs but the
  // executable lacks fails here too, on machines without a denort runtime.
  const printed = await compileScript(["--print-permissions"], {});
  assert.equal(printed.code, 0, printed.stderr);
  const workDir = await Deno.makeTempDir({ prefix: "compile-perms-test-" });
  try {
    await runService([
      Deno.execPath(),
      ...["run", "--unstable-net", "--no-prompt", "--config", `${REPO_ROOT}deno.json`],
      ...printed.stdout.trim().split(/\s+/),
      `${REPO_ROOT}main.ts`,
    ], workDir);
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test({
  name: "compile: the executable boots, answers an RPC with the admin token, exits 0 on SIGTERM" +
    (Deno.env.get("DENORT_BIN") ? "" : " (skipped: DENORT_BIN is not set; deno compile needs a " +
      "denort runtime, which this machine cannot download)"),
  ignore: !Deno.env.get("DENORT_BIN"),
  async fn() {
    const workDir = await Deno.makeTempDir({ prefix: "compile-test-" });
    try {
      const executable = `${workDir}/worknode`;
      const built = await compileScript([], {
        DENORT_BIN: Deno.env.get("DENORT_BIN")!,
        WORKNODE_OUTPUT: executable,
      });
      assert.equal(built.code, 0, built.stderr);
      await runService([executable], workDir);
    } finally {
      await Deno.remove(workDir, { recursive: true });
    }
  },
});

/**
 * Runs the service (`command[0]` with `command[1..]` before the service flags) in a directory
 * that is not the repository, so nothing from the checkout leaks in.
 */
async function runService(command: readonly string[], workDir: string): Promise<void> {
  const plaintextPort = freePort();
  const child = new Deno.Command(command[0], {
    args: [
      ...command.slice(1),
      ...["--hostname", "127.0.0.1", "--port", String(freePort())],
      ...["--plaintext-port", String(plaintextPort), "--data-dir", `${workDir}/data`],
      ...["--pool-bytes", "16MiB", "--log-level", "warn"],
    ],
    cwd: workDir,
    env: { NO_COLOR: "1", TMPDIR: workDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  let signalled = false;
  try {
    const base = `http://127.0.0.1:${plaintextPort}`;
    await waitHealthy(`${base}/healthz`, child);
    const token = (await Deno.readTextFile(`${workDir}/data/admin.token`)).trim();
    const response = await fetch(`${base}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ payload: btoa("compiled") }),
    });
    assert.equal(response.status, 200);
    assert.equal(atob((await response.json()).payload), "compiled");
    child.kill("SIGTERM");
    signalled = true;
    const status = await child.status;
    assert.equal(status.code, 0, await stderr);
    // The embedded library's private copy is removed as soon as it is mapped.
    const leftovers = [...Deno.readDirSync(workDir)].filter((e) => e.name.includes("libpool"));
    assert.deepEqual(leftovers, []);
  } finally {
    if (!signalled) child.kill("SIGKILL");
    await child.status;
    await stdout;
    await stderr;
  }
}
