import assert from "@std/assert";
import { Authenticator, hashToken, parseTokens, TOKEN_COUNT_MAX } from "./auth.ts";

const TOKENS = [
  { name: "ops", scope: "admin" as const, sha256: hashToken("admin-secret") },
  { name: "ci", scope: "write" as const, sha256: hashToken("write-secret") },
  { name: "viewer", scope: "read" as const, sha256: hashToken("read-secret") },
];

Deno.test("hashToken is the lower-case hex SHA-256 of the token", () => {
  // The SHA-256 of "abc" (FIPS 180-2 test vector).
  assert.equal(
    hashToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("identify: each token finds its own principal; anything else is null", () => {
  const auth = new Authenticator(TOKENS);
  assert.deepEqual(auth.identify("Bearer admin-secret"), { name: "ops", scope: "admin" });
  assert.deepEqual(auth.identify("bearer write-secret"), { name: "ci", scope: "write" });
  assert.deepEqual(auth.identify("Bearer read-secret"), { name: "viewer", scope: "read" });
  for (
    const bad of [null, "", "Bearer ", "Basic YWJjOmRlZg==", "Bearer admin-secreT", "admin-secret"]
  ) {
    assert.equal(auth.identify(bad), null, String(bad));
  }
  assert.equal(auth.identify("Bearer " + "x".repeat(10_000)), null);
});

Deno.test("check: scopes nest; mutating needs write or admin; read needs any token", () => {
  const auth = new Authenticator(TOKENS);
  assert.equal(auth.check("Bearer admin-secret", true), null);
  assert.equal(auth.check("Bearer write-secret", true), null);
  assert.equal(auth.check("Bearer read-secret", false), null);
  const denied = auth.check("Bearer read-secret", true);
  assert.equal(denied?.code, "permission_denied");
  assert.equal(denied?.httpStatus, 403);
  assert.match(denied!.message, /token "viewer" has scope read/);
  assert.equal(auth.check(null, false)?.code, "unauthenticated");
  assert.equal(auth.check("Bearer nope", true)?.httpStatus, 401);
});

Deno.test("publicRead opens read-only methods only", () => {
  const auth = new Authenticator(TOKENS, { publicRead: true });
  assert.equal(auth.check(null, false), null);
  assert.equal(auth.check(null, true)?.code, "unauthenticated");
  assert.equal(auth.check("Bearer read-secret", true)?.code, "permission_denied");
});

Deno.test("no tokens: every call is unauthenticated", () => {
  const auth = new Authenticator([]);
  assert.equal(auth.tokenCount, 0);
  assert.equal(auth.check("Bearer anything", false)?.code, "unauthenticated");
});

Deno.test("parseTokens: both shapes, and one clear error per bad entry", () => {
  const list = JSON.stringify(TOKENS);
  assert.deepEqual(parseTokens(list), TOKENS);
  assert.deepEqual(parseTokens(JSON.stringify({ tokens: TOKENS })), TOKENS);
  const upper = [{ ...TOKENS[0], sha256: TOKENS[0].sha256.toUpperCase() }];
  assert.equal(parseTokens(JSON.stringify(upper))[0].sha256, TOKENS[0].sha256);
  assert.throws(() => parseTokens("{"), /Cannot read tokens: /);
  assert.throws(() => parseTokens('{"x":1}', "f.json"), /Cannot read f.json: expected/);
  assert.throws(
    () => parseTokens(JSON.stringify([{ ...TOKENS[0], scope: "root" }])),
    /entry 0 \(ops\): scope must be read, write, admin/,
  );
  assert.throws(
    () => parseTokens(JSON.stringify([{ ...TOKENS[0], sha256: "admin-secret" }])),
    /sha256 must be 64 hex digits/,
  );
  assert.throws(() => parseTokens(JSON.stringify([{ scope: "read" }])), /name must be/);
  const many = Array.from({ length: TOKEN_COUNT_MAX + 1 }, () => TOKENS[0]);
  assert.throws(() => parseTokens(JSON.stringify(many)), RangeError);
});
