import assert from "@std/assert";
import { join } from "node:path";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { ADMIN_TOKEN_FILE_NAME, loadTokens, TOKENS_FILE_NAME } from "./tokens.ts";

Deno.test("first start generates an admin token; only its hash is kept; later starts reuse it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  try {
    const first = await loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" });
    assert.equal(first.generated, true);
    assert.equal(first.adminTokenPath, join(dataDir, ADMIN_TOKEN_FILE_NAME));
    const token = (await Deno.readTextFile(first.adminTokenPath!)).trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await Deno.stat(first.adminTokenPath!)).mode! & 0o777, 0o600);
    const stored = await Deno.readTextFile(join(dataDir, TOKENS_FILE_NAME));
    assert.ok(!stored.includes(token), "tokens.json holds no token in clear");
    assert.ok(stored.includes(hashToken(token)));
    assert.deepEqual(first.tokens, [{ name: "admin", scope: "admin", sha256: hashToken(token) }]);
    const auth = new Authenticator(first.tokens);
    assert.equal(auth.check(`Bearer ${token}`, true), null);

    const second = await loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" });
    assert.equal(second.generated, false);
    assert.deepEqual(second.tokens, first.tokens);
    assert.equal((await Deno.readTextFile(first.adminTokenPath!)).trim(), token);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("WORKNODE_TOKENS beats --tokens-file, which beats the data directory", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  try {
    const fileTokens = [{ name: "ci", scope: "write", sha256: hashToken("w") }];
    const envTokens = [{ name: "env", scope: "read", sha256: hashToken("r") }];
    const tokensFile = join(dataDir, "mine.json");
    await Deno.writeTextFile(tokensFile, JSON.stringify({ tokens: fileTokens }));
    const fromEnv = await loadTokens({ dataDir, tokensFile }, {
      envTokens: JSON.stringify(envTokens),
    });
    assert.deepEqual([fromEnv.source, fromEnv.tokens], ["WORKNODE_TOKENS", envTokens]);
    const fromFile = await loadTokens({ dataDir, tokensFile }, { envTokens: "" });
    assert.deepEqual([fromFile.source, fromFile.tokens], [tokensFile, fileTokens]);
    assert.equal(fromFile.adminTokenPath, null);
    // Neither generated anything in the data directory.
    await assert.rejects(
      () => Deno.stat(join(dataDir, ADMIN_TOKEN_FILE_NAME)),
      Deno.errors.NotFound,
    );
    await assert.rejects(
      () => loadTokens({ dataDir, tokensFile: join(dataDir, "missing.json") }, { envTokens: "" }),
      /Cannot read tokens file .*missing\.json/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a world-writable tokens file is refused with a message naming it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  try {
    const tokensFile = join(dataDir, "tokens.json");
    await Deno.writeTextFile(tokensFile, JSON.stringify({ tokens: [] }));
    await Deno.chmod(tokensFile, 0o666);
    await assert.rejects(
      () => loadTokens({ dataDir, tokensFile }, { envTokens: "" }),
      new RegExp(
        `^TypeError: Cannot use tokens file ${tokensFile}: it is world-writable \\(mode 0666\\)`,
      ),
    );
    // The data directory's own tokens.json is checked alike.
    await assert.rejects(
      () => loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" }),
      /Cannot use tokens file .*tokens\.json: it is world-writable/,
    );
    await Deno.chmod(tokensFile, 0o644);
    assert.equal((await loadTokens({ dataDir, tokensFile }, { envTokens: "" })).tokens.length, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("admin.token is never written through a symbolic link", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  const elsewhere = await Deno.makeTempDir({ prefix: "tokens-target-" });
  try {
    const target = join(elsewhere, "victim");
    await Deno.writeTextFile(target, "precious\n");
    await Deno.chmod(target, 0o644);
    const adminTokenPath = join(dataDir, ADMIN_TOKEN_FILE_NAME);
    await Deno.symlink(target, adminTokenPath);
    const loaded = await loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" });
    assert.equal(loaded.generated, true);
    assert.equal(await Deno.readTextFile(target), "precious\n", "the link's target is untouched");
    assert.equal((await Deno.stat(target)).mode! & 0o777, 0o644);
    const info = await Deno.lstat(adminTokenPath);
    assert.ok(info.isFile && !info.isSymlink, "the link was replaced by a file");
    assert.equal(info.mode! & 0o777, 0o600);
    const token = (await Deno.readTextFile(adminTokenPath)).trim();
    assert.deepEqual(loaded.tokens.map((t) => t.sha256), [hashToken(token)]);
    // Nothing but the two files is left behind (no temporary file).
    const names = [];
    for await (const entry of Deno.readDir(dataDir)) names.push(entry.name);
    assert.deepEqual(names.sort(), [ADMIN_TOKEN_FILE_NAME, TOKENS_FILE_NAME]);
    assert.equal((await Deno.stat(join(dataDir, TOKENS_FILE_NAME))).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("zero tokens and an admin.token matching none are warnings; its path is not reported", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "tokens-test-" });
  try {
    const empty = await loadTokens({ dataDir, tokensFile: undefined }, {
      envTokens: JSON.stringify({ tokens: [] }),
    });
    assert.deepEqual(empty.warnings, [
      "WORKNODE_TOKENS holds no tokens: every call that needs a token answers 401",
    ]);
    const first = await loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" });
    assert.deepEqual(first.warnings, []);
    // The operator replaces tokens.json: the old admin.token no longer opens anything.
    const tokensPath = join(dataDir, TOKENS_FILE_NAME);
    await Deno.writeTextFile(tokensPath, JSON.stringify({ tokens: [] }));
    const stale = await loadTokens({ dataDir, tokensFile: undefined }, { envTokens: "" });
    assert.equal(stale.adminTokenPath, null);
    assert.deepEqual(stale.warnings, [
      `${tokensPath} holds no tokens: every call that needs a token answers 401`,
      `${first.adminTokenPath} matches no token in ${tokensPath}: it is not used`,
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
