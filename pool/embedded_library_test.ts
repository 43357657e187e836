import assert from "@std/assert";
import { extractLibrary, libraryNeedsExtraction } from "./embedded_library.ts";
import { defaultLibraryPath, openPoolLibrary, POOL_ABI_VERSION } from "./ffi.ts";

Deno.test("extractLibrary copies the bytes into a private 0700 directory and removes it", () => {
  const tempDir = Deno.makeTempDirSync({ prefix: "extract-test-" });
  try {
    const copy = extractLibrary(defaultLibraryPath(), { tempDir });
    const dir = copy.path.slice(0, copy.path.lastIndexOf("/"));
    assert.ok(dir.startsWith(`${tempDir}/worknode-libpool-`), dir);
    assert.equal(copy.path.split("/").pop(), "libpool.so");
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(copy.path).mode! & 0o077, 0, "no group/other access");
    assert.deepEqual(Deno.readFileSync(copy.path), Deno.readFileSync(defaultLibraryPath()));
    copy.remove();
    copy.remove();
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
  } finally {
    Deno.removeSync(tempDir, { recursive: true });
  }
});

Deno.test("extractLibrary rejects a bad path without leaving a directory", () => {
  const tempDir = Deno.makeTempDirSync({ prefix: "extract-test-" });
  try {
    assert.throws(() => extractLibrary(""), TypeError);
    assert.throws(
      () => extractLibrary(`${tempDir}/missing.so`, { tempDir }),
      Deno.errors.NotFound,
    );
    assert.deepEqual([...Deno.readDirSync(tempDir)], []);
  } finally {
    Deno.removeSync(tempDir, { recursive: true });
  }
});

Deno.test("openPoolLibrary with extract: the copy loads and calls work after its file is gone", () => {
  assert.equal(libraryNeedsExtraction(), false, "deno test is not a compiled executable");
  const lib = openPoolLibrary({ extract: true });
  try {
    assert.equal(lib.symbols.pool_abi_version(), POOL_ABI_VERSION);
  } finally {
    lib.close();
  }
});
