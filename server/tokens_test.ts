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
