/**
 * `deno task call` exactly as a user types it (the task's own permissions and `--unstable-net`
 * from deno.json, the CA found in `--data-dir`), over HTTP/3, HTTP/2 and HTTP/1.1 against a
 * real service.
 */

import assert from "@std/assert";
import { runCommand } from "./_command.ts";
import { startH3Service } from "./_h3_service.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;

/** Runs `deno task --quiet call ARGS` from the repository root. */
function callTask(args: string[]) {
  return runCommand(Deno.execPath(), ["task", "--quiet", "call", ...args], { cwd: REPO_ROOT });
}

/** The service's data directory: where `deno task call --data-dir` finds `certs/ca.pem`. */
function dataDirOf(caPath: string): string {
  const suffix = "/certs/ca.pem";
  assert.ok(caPath.endsWith(suffix), `the CA is not at <data-dir>${suffix}: ${caPath}`);
  return caPath.slice(0, -suffix.length);
}

Deno.test("deno task call --http 3|2 with the CA from --data-dir: result and RPC error", async () => {
  const t = await startH3Service();
  try {
    const dataDir = dataDirOf(t.svc.caPath!);
    for (const http of ["3", "2"]) {
      const common = ["--data-dir", dataDir, "--url", t.origin, "--http", http];
      const ok = await callTask([...common, "system.echo", JSON.stringify({ payload: "aDM=" })]);
      assert.equal(ok.code, 0, `h${http}: ${ok.stdout}${ok.stderr}`);
      assert.deepEqual(JSON.parse(ok.stdout), { payload: "aDM=" }, `h${http}`);
      const unknown = await callTask([...common, "no.such_method", "{}"]);
      assert.equal(unknown.code, 1, `h${http}: ${unknown.stderr}`);
      assert.equal(JSON.parse(unknown.stdout).error.code, "unimplemented", `h${http}`);
    }
    assert.equal(t.svc.h3.stats().requestCount, 2, "both --http 3 calls went over HTTP/3");
  } finally {
    await t.close();
  }
});
