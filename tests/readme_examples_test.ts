/**
 * The README's quick-start examples work as written: its curl block and its `deno task call`
 * lines run against the real service (`main.ts` started with the `start` task's own command),
 * with only the data directory and port changed.
 */

import assert from "@std/assert";
import { runCommand } from "./_command.ts";
import { freePort } from "./_service_process.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;
const README = Deno.readTextFileSync(`${REPO_ROOT}README.md`);
/** How long the service may take to boot (dev certificates, a prefaulted pool) on a loaded box. */
const BOOT_TIMEOUT_MS = 60_000;

/** The contents of every ```sh block, at most 64 of them. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].slice(0, 64).map((m) => m[1]);
}

/** The words of the `start` task's command, `deno` replaced by this Deno. */
function startCommand(): string[] {
  const denoJson = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`));
  const entry = denoJson.tasks.start;
  const words = (typeof entry === "string" ? entry : entry.command).split(/\s+/);
  assert.equal(words[0], "deno");
  return [Deno.execPath(), ...words.slice(1)];
}

/** Splits one example line into words: bare words and '...' strings; drops a `# comment`. */
function shellWords(line: string): string[] {
  const code = line.replace(/\s+#\s[^']*$/, "");
  return [...code.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** Starts the service in `workDir` (data in `workDir/data`); resolves once /healthz answers. */
async function startService(workDir: string, port: number, plaintextPort: number) {
  const [command, ...args] = startCommand();
  const child = new Deno.Command(command, {
    args: [
      ...args,
      ...["--port", String(port), "--plaintext-port", String(plaintextPort)],
      ...["--data-dir", `${workDir}/data`, "--pool-bytes", "16MiB", "--log-level", "warn"],
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  child.status.then(() => exited = true);
  const until = Date.now() + BOOT_TIMEOUT_MS;
  while (!exited && Date.now() < until) {
    const response = await fetch(`http://127.0.0.1:${plaintextPort}/healthz`).catch(() => null);
    await response?.body?.cancel();
    if (response?.status === 200) return { child, stderr };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!exited) child.kill("SIGKILL");
  await child.status;
  throw new Error(`the service did not become healthy: ${await stderr}`);
}

Deno.test("README: the curl block and every `deno task call` example work as written", async () => {
  const blocks = shellBlocks(README);
  const curlBlock = blocks.find((block) => block.startsWith("TOKEN=$(cat data/admin.token)"));
  const callBlock = blocks.find((block) => block.startsWith("deno task call "));
  if (curlBlock === undefined) throw new Error("the README has no curl block");
  if (callBlock === undefined) throw new Error("the README has no `deno task call` block");
  const workDir = await Deno.makeTempDir({ prefix: "readme-examples-" });
  const port = freePort();
  const { child, stderr } = await startService(workDir, port, freePort());
  try {
    const script = "set -euo pipefail\n" +
      curlBlock.replaceAll("localhost:8443", `localhost:${port}`);
    const curl = await runCommand("bash", ["-c", script], { cwd: workDir });
    assert.equal(curl.code, 0, curl.stderr);
    assert.match(curl.stdout, /^\{"id":"n1","version":1\}/);
    assert.match(curl.stdout, /"code":"not_found"/);
    const lines = callBlock.trimEnd().split("\n");
    assert.ok(lines.length >= 5 && lines.length <= 32, `${lines.length} example lines`);
    for (const line of lines) {
      const words = shellWords(line);
      assert.deepEqual(words.slice(0, 3), ["deno", "task", "call"], line);
      const args = [
        ...["task", "--quiet", "call", "--data-dir", `${workDir}/data`],
        ...["--url", `https://localhost:${port}`, ...words.slice(3)],
      ];
      const call = await runCommand(Deno.execPath(), args, { cwd: REPO_ROOT });
      assert.equal(call.code, 0, `${line}\n${call.stdout}${call.stderr}`);
      assert.equal(JSON.parse(call.stdout).error, undefined, line);
    }
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    const log = await stderr;
    await Deno.remove(workDir, { recursive: true });
    assert.equal(status.code, 0, log);
  }
});
