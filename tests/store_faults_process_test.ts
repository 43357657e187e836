/**
 * Store failures of the real service (`main.ts` as a child process, real files):
 * - a corrupt database file at start exits 1 with one line naming the file;
 * - a full disk (a small tmpfs, filled for real) answers 503 `unavailable` and `/readyz` 503,
 *   the cause is on stderr naming the file, and both recover once space returns;
 * - a read-only database file (immutable, `chattr +i`) serves reads, answers writes 503 and
 *   `/readyz` 503, named on stderr at start.
 *
 * The tests run as root. Mounting a tmpfs needs CAP_SYS_ADMIN and `chattr +i` a file system that
 * supports it; where either is refused, that test says so in its output and checks what it can
 * (SQLITE_FULL itself, through a running service, is tests/store_faults_test.ts).
 */

import assert from "@std/assert";
import { join } from "node:path";
import { SQLITE_FILE_NAME } from "../store/mod.ts";
import { runMainOnce, type ServiceProcess, startServiceProcess } from "./_service_process.ts";

/** Runs a command quietly; true when it succeeded. */
async function run(command: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output()
    .catch(() => null);
  return out !== null && out.success;
}

/** An authorized JSON call to the service. */
async function call(svc: ServiceProcess, method: string, params: unknown) {
  const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
  const response = await fetch(`${svc.plainUrl}/rpc/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(params),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function readyz(svc: ServiceProcess): Promise<{ status: number; text: string }> {
  const response = await fetch(`${svc.plainUrl}/readyz`);
  return { status: response.status, text: await response.text() };
}

/** Polls until `/readyz` answers `status` (bounded: 75 tries, 200 ms apart). */
async function readyzBecomes(svc: ServiceProcess, status: number): Promise<string> {
  let last = { status: 0, text: "" };
  for (let attempt = 0; attempt < 75; attempt++) {
    last = await readyz(svc);
    if (last.status === status) return last.text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`/readyz stayed ${last.status} ${last.text}`);
}

const bigProperties = () =>
  Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, value: "v".repeat(8000) }));

Deno.test("main: a corrupt database file at start exits 1 with one line naming it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "corrupt-start-" });
  try {
    const path = join(dataDir, SQLITE_FILE_NAME);
    await Deno.writeTextFile(path, "this is not a database\n".repeat(400), { mode: 0o600 });
    const out = await runMainOnce(["--data-dir", dataDir, "--port", "0", "--pool-bytes", "8MiB"]);
    assert.equal(out.code, 1, out.stderr);
    assert.deepEqual(out.stderr.trimEnd().split("\n"), [
      `Cannot open database ${path}: file is not a database`,
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Writes zeros into `path` until the file system is full (bounded by `bytesMax`). */
async function fillFileSystem(path: string, bytesMax: number): Promise<number> {
  const file = await Deno.open(path, { create: true, write: true });
  let written = 0;
  try {
    for (const chunkBytes of [256 * 1024, 4096, 512]) {
      const chunk = new Uint8Array(chunkBytes);
      while (written < bytesMax) {
        try {
          written += await file.write(chunk);
        } catch (error) {
          if ((error as { code?: string }).code !== "ENOSPC") throw error;
          break;
        }
      }
    }
  } finally {
    file.close();
  }
  return written;
}

Deno.test("main: a full disk answers 503 and /readyz 503, named on stderr; space returns, so does service", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "disk-full-" });
  const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dataDir]);
  try {
    if (!mounted) {
      console.log("mount -t tmpfs refused (no CAP_SYS_ADMIN): SQLITE_FULL is store_faults_test.ts");
      return;
    }
    const svc = await startServiceProcess([], { dataDir });
    let stopped = false;
    try {
      assert.equal(
        (await call(svc, "worknode.create", { id: "before", kind: "k", properties: [] }))
          .status,
        200,
      );
      const filler = join(dataDir, "filler");
      assert.ok(await fillFileSystem(filler, 16 * 1024 * 1024) > 0);
      const full = await call(svc, "worknode.create", {
        id: "w",
        kind: "k",
        properties: bigProperties(),
      });
      assert.equal(full.status, 503, JSON.stringify(full.body));
      assert.equal(full.body.error.code, "unavailable");
      assert.match(full.body.error.message, /disk is full/);
      assert.equal(full.headers.get("retry-after"), "1");
      const notReady = await readyz(svc);
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /not ready: store cannot take writes: the disk is full/);
      // Reads still answer.
      assert.equal((await call(svc, "worknode.get", { id: "before" })).status, 200);

      await Deno.remove(filler);
      assert.equal(await readyzBecomes(svc, 200), "ready");
      const again = await call(svc, "worknode.create", {
        id: "w",
        kind: "k",
        properties: bigProperties(),
      });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      const { code, stderr } = await svc.stop();
      stopped = true;
      assert.equal(code, 0, stderr);
      const path = join(dataDir, SQLITE_FILE_NAME);
      assert.match(stderr, new RegExp(`^store: database ${path}: the disk is full`, "m"));
      assert.match(stderr, /writes succeed again/);
    } finally {
      if (!stopped) await svc.stop();
    }
  } finally {
    if (mounted) await run("umount", [dataDir]);
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Makes `path` read-only for this process: immutable as root, mode 0400 otherwise. */
async function makeReadOnly(path: string): Promise<"chattr" | "chmod" | null> {
  if (Deno.uid() !== 0) {
    await Deno.chmod(path, 0o400);
    return "chmod";
  }
  return await run("chattr", ["+i", path]) ? "chattr" : null;
}

Deno.test("main: a read-only database serves reads, answers writes 503 and /readyz 503", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "ro-database-" });
  const path = join(dataDir, SQLITE_FILE_NAME);
  let how: "chattr" | "chmod" | null = null;
  try {
    const first = await startServiceProcess([], { dataDir });
    assert.equal(
      (await call(first, "worknode.create", { id: "w1", kind: "k", properties: [] }))
        .status,
      200,
    );
    assert.equal((await first.stop()).code, 0);
    how = await makeReadOnly(path);
    if (how === null) {
      console.log("chattr +i refused on this file system: no read-only database to test");
      return;
    }
    const svc = await startServiceProcess([], { dataDir });
    let stopped = false;
    try {
      assert.equal((await call(svc, "worknode.get", { id: "w1" })).status, 200);
      const write = await call(svc, "worknode.create", { id: "w2", kind: "k", properties: [] });
      assert.equal(write.status, 503, JSON.stringify(write.body));
      assert.equal(write.body.error.code, "unavailable");
      assert.match(write.body.error.message, /database is read-only/);
      const notReady = await readyz(svc);
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /cannot take writes: the database is read-only/);
      const { stderr } = await svc.stop();
      stopped = true;
      assert.match(stderr, new RegExp(`^store: database ${path}: the database is read-only`, "m"));
    } finally {
      if (!stopped) await svc.stop();
    }
  } finally {
    if (how === "chattr") await run("chattr", ["-i", path]);
    await Deno.remove(dataDir, { recursive: true });
  }
});
