/**
 * A data directory the service cannot write makes `main.ts` refuse to start with one clear line
 * on stderr and exit 2, before it maps the pool or opens a listener.
 *
 * The tests run as root, for whom permission bits (a 0500 directory) do not stop a write, so
 * "not writable" is made in ways that hold for root too:
 * - the data-dir path is an existing regular file (it cannot be a directory);
 * - the data-dir path lies under a regular file (ENOTDIR: it cannot be created);
 * - a read-only tmpfs mount (EROFS), both as an existing directory (the write probe fails) and as
 *   a directory still to be created. Mounting needs CAP_SYS_ADMIN; where `mount` is refused,
 *   that case says so in its output and checks the regular-file cases only.
 */

import assert from "@std/assert";
import { runMainOnce } from "./_service_process.ts";

async function assertRefused(dataDir: string, reason: RegExp): Promise<void> {
  const run = await runMainOnce(["--data-dir", dataDir, "--port", "0", "--pool-bytes", "8MiB"]);
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, "", "nothing started: no plan, no ready line");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.ok(lines[0].startsWith(`Cannot use data directory ${dataDir}: `), lines[0]);
  assert.match(lines[0], reason);
}

Deno.test("data dir: a regular file, or a path under one, exits 2 with one line", async () => {
  const root = await Deno.makeTempDir({ prefix: "ro-datadir-" });
  try {
    const file = `${root}/not-a-dir`;
    await Deno.writeTextFile(file, "x");
    await assertRefused(file, /it cannot be created: File exists/);
    await assertRefused(`${file}/data`, /it cannot be created: Not a directory/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function mountReadOnly(dir: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tmpfs", dir],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => null);
  return out !== null && out.success;
}

Deno.test("data dir: on a read-only filesystem exits 2 with one line", async () => {
  const root = await Deno.makeTempDir({ prefix: "ro-mount-" });
  const mounted = await mountReadOnly(root);
  try {
    if (!mounted) {
      console.log("mount -o ro refused (no CAP_SYS_ADMIN): checked a file-backed data dir instead");
      await Deno.writeTextFile(`${root}/file`, "x");
      await assertRefused(`${root}/file/data`, /it cannot be created/);
      return;
    }
    await assertRefused(root, /it is not writable: Read-only file system/);
    await assertRefused(`${root}/data`, /it cannot be created: Read-only file system/);
  } finally {
    if (mounted) {
      await new Deno.Command("umount", { args: [root], stdout: "null", stderr: "null" }).output();
    }
    await Deno.remove(root, { recursive: true });
  }
});
