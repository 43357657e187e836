/**
 * The service's files, through `main.ts` as a child process: modes under a permissive umask,
 * refusals of a world-writable data directory or tokens file (one line each), and the warning
 * lines (no tokens, a stale admin.token) that the ready line repeats.
 */

import assert from "@std/assert";
import { join } from "node:path";
import { SQLITE_FILE_NAME } from "../store/mod.ts";
import { runMainOnce, startServiceProcess } from "./_service_process.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

/** The ready line's warnings (main.ts adds them to the fields tests/_service_process.ts types). */
function readyWarnings(ready: unknown): string[] {
  return (ready as { warnings: string[] }).warnings;
}

Deno.test("files: with umask 000 the data directory is 0700 and every file in it 0600", async () => {
  const root = await Deno.makeTempDir({ prefix: "files-modes-" });
  const dataDir = join(root, "data");
  // The child inherits the umask; restored right after the spawn.
  const umask = Deno.umask(0);
  let svc;
  try {
    svc = await startServiceProcess([], { dataDir });
  } finally {
    Deno.umask(umask);
  }
  try {
    assert.deepEqual(readyWarnings(svc.ready), []);
    assert.equal(await modeOf(dataDir), 0o700);
    const database = SQLITE_FILE_NAME;
    const files = [database, `${database}-wal`, `${database}-shm`, "admin.token", "tokens.json"];
    for (const file of files) {
      assert.equal(await modeOf(join(dataDir, file)), 0o600, file);
    }
    assert.equal(await modeOf(join(dataDir, "certs")), 0o700);
    assert.equal(await modeOf(join(dataDir, "certs", "leaf.key")), 0o600);
  } finally {
    await svc.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("files: a world-writable data directory exits 2, a world-writable tokens file exits 1", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "files-refused-" });
  try {
    await Deno.chmod(dataDir, 0o777);
    const args = ["--data-dir", dataDir, "--port", "0", "--pool-bytes", "8MiB"];
    const open = await runMainOnce(args);
    assert.equal(open.code, 2, open.stderr);
    assert.equal(open.stdout, "", "nothing started");
    assert.deepEqual(open.stderr.trimEnd().split("\n"), [
      `Cannot use data directory ${dataDir}: it is world-writable (mode 0777); ` +
      "run chmod 700 on it and start again",
    ]);

    await Deno.chmod(dataDir, 0o700);
    const tokensFile = join(dataDir, "ops-tokens.json");
    await Deno.writeTextFile(tokensFile, JSON.stringify({ tokens: [] }));
    await Deno.chmod(tokensFile, 0o646);
    const tokens = await runMainOnce([...args, "--tokens-file", tokensFile]);
    assert.equal(tokens.code, 1, tokens.stderr);
    assert.deepEqual(tokens.stderr.trimEnd().split("\n"), [
      `Cannot use tokens file ${tokensFile}: it is world-writable (mode 0646), so anyone could ` +
      "add a token; run chmod o-w on it and start again",
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("files: zero tokens warn on a line of their own and in the ready line", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "files-tokens-" });
  try {
    // A first start generates admin.token; then the operator empties tokens.json.
    const first = await startServiceProcess([], { dataDir });
    const adminTokenPath = first.ready.adminTokenPath;
    assert.equal(adminTokenPath, join(dataDir, "admin.token"));
    assert.equal((await first.stop()).code, 0);
    const tokensPath = join(dataDir, "tokens.json");
    await Deno.writeTextFile(tokensPath, JSON.stringify({ tokens: [] }));
    const svc = await startServiceProcess([], { dataDir });
    try {
      const expected = [
        `${tokensPath} holds no tokens: every call that needs a token answers 401`,
        `${adminTokenPath} matches no token in ${tokensPath}: it is not used`,
      ];
      assert.deepEqual(readyWarnings(svc.ready), expected);
      assert.equal(svc.ready.adminTokenPath, null, "the stale admin.token is not offered");
      assert.equal(svc.ready.tokenCount, 0);
      const warnLines = svc.lines.filter((line) => line.level === "warn").map((line) => line.msg);
      assert.deepEqual(warnLines, expected);
      const token = (await Deno.readTextFile(adminTokenPath!)).trim();
      const response = await fetch(`${svc.plainUrl}/rpc/worknode.create`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ kind: "k", properties: [] }),
      });
      assert.equal(response.status, 401);
      await response.body?.cancel();
    } finally {
      await svc.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
