import assert from "@std/assert";
import { join } from "node:path";
import { DataDirError, ensureDataDir } from "./data_dir.ts";

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o7777;

/** Runs `body` with the process umask at `umask`, restoring it after. */
async function withUmask<T>(umask: number, body: () => Promise<T>): Promise<T> {
  const before = Deno.umask(umask);
  try {
    return await body();
  } finally {
    Deno.umask(before);
  }
}

Deno.test("data dir: created 0700 even with a permissive umask, with no warning", async () => {
  const root = await Deno.makeTempDir({ prefix: "data-dir-test-" });
  try {
    const dataDir = join(root, "a", "data");
    const report = await withUmask(0, () => ensureDataDir(dataDir));
    assert.equal(await modeOf(dataDir), 0o700);
    assert.deepEqual(report.warnings, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("data dir: an existing 0755 directory is made 0700 and the change is reported", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "data-dir-test-" });
  try {
    await Deno.chmod(dataDir, 0o755);
    const report = await ensureDataDir(dataDir);
    assert.equal(await modeOf(dataDir), 0o700);
    assert.deepEqual(report.warnings, [`data directory ${dataDir} had mode 0755; it is now 0700`]);
    assert.deepEqual((await ensureDataDir(dataDir)).warnings, [], "nothing to say the second time");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("data dir: a world-writable directory (sticky or not) is refused, its mode untouched", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "data-dir-test-" });
  try {
    for (const mode of [0o777, 0o1777, 0o703]) {
      await Deno.chmod(dataDir, mode);
      await assert.rejects(
        () => ensureDataDir(dataDir),
        (error: Error) => {
          assert.ok(error instanceof DataDirError);
          const octal = (mode & 0o777).toString(8);
          assert.equal(
            error.message,
            `Cannot use data directory ${dataDir}: it is world-writable (mode 0${octal}); ` +
              "run chmod 700 on it and start again",
          );
          return true;
        },
      );
      assert.equal(await modeOf(dataDir), mode);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
