import assert from "@std/assert";
import { Authenticator, hashToken, parseTokens, TOKEN_CHARS_MAX, TOKEN_COUNT_MAX } from "./auth.ts";

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

/** Authorization values a client might send: valid tokens in every accepted spelling, and not. */
const PRESENTED = [
  "Bearer admin-secret",
  "bearer write-secret",
  "BEARER   read-secret  ",
  "Bearer read-secret",
  null,
  "",
  "Bearer ",
  "Bearer admin-secreT",
  "Basic YWJjOmRlZg==",
  "admin-secret",
  "Bearer" + "admin-secret",
  "Bearer " + " ".repeat(TOKEN_CHARS_MAX) + "admin-secret",
];

Deno.test("identify: a remembered token gets the verdict the full check gave", () => {
  const auth = new Authenticator(TOKENS);
  const verdicts = (a: Authenticator) =>
    PRESENTED.map((value) => ({
      principal: a.identify(value),
      mutating: a.check(value, true)?.code ?? null,
      reading: a.check(value, false)?.code ?? null,
    }));
  const first = verdicts(auth);
  assert.equal(auth.knownTokenCount, 3, "the three valid tokens are remembered");
  const again = verdicts(auth);
  assert.deepEqual(again, first);
  // And the same as an authenticator that never saw them (every call a miss).
  assert.deepEqual(
    PRESENTED.map((v) => new Authenticator(TOKENS).identify(v)),
    first.map((v) => v.principal),
  );
  assert.deepEqual(first.map((v) => v.principal?.name ?? null), [
    "ops",
    "ci",
    "viewer",
    "viewer",
    ...Array(8).fill(null),
  ]);
});

Deno.test("identify: sprayed random tokens are never remembered", () => {
  const auth = new Authenticator(TOKENS);
  assert.deepEqual(auth.identify("Bearer write-secret"), { name: "ci", scope: "write" });
  for (let i = 0; i < 10_000; i++) {
    const random = crypto.getRandomValues(new Uint8Array(24));
    assert.equal(auth.identify(`Bearer ${btoa(String.fromCharCode(...random))}`), null);
  }
  assert.equal(auth.knownTokenCount, 1);
  assert.ok(auth.knownTokenCount <= auth.tokenCount);
  assert.equal(auth.check("Bearer write-secret", true), null, "the valid token still passes");
});

Deno.test("check: a remembered read token is still refused mutating methods", () => {
  const auth = new Authenticator(TOKENS);
  assert.equal(auth.check("Bearer read-secret", false), null);
  const denied = auth.check("Bearer read-secret", true);
  assert.equal(denied?.code, "permission_denied");
  assert.equal(auth.check("Bearer read-secret", true), denied, "the same 403, made once");
  assert.equal(auth.check("Bearer read-secret", false), null);
});

Deno.test("replaceTokens: a reload forgets remembered tokens and applies the new set", () => {
  const auth = new Authenticator(TOKENS);
  assert.equal(auth.check("Bearer admin-secret", true), null);
  assert.equal(auth.check("Bearer read-secret", true)?.code, "permission_denied");
  assert.equal(auth.knownTokenCount, 2);
  const rotated = [
    { name: "ops", scope: "read" as const, sha256: hashToken("admin-secret") },
    { name: "new", scope: "admin" as const, sha256: hashToken("new-secret") },
  ];
  auth.replaceTokens(rotated);
  assert.equal(auth.knownTokenCount, 0);
  assert.equal(auth.tokenCount, 2);
  assert.equal(auth.check("Bearer read-secret", false)?.code, "unauthenticated", "removed");
  assert.equal(auth.check("Bearer admin-secret", true)?.code, "permission_denied", "now read");
  assert.equal(auth.check("Bearer new-secret", true), null);
  const tooMany = Array.from({ length: TOKEN_COUNT_MAX + 1 }, () => TOKENS[0]);
  assert.throws(() => auth.replaceTokens(tooMany), RangeError);
  assert.equal(auth.check("Bearer new-secret", true), null, "a refused reload keeps the set");
  auth.replaceTokens([]);
  assert.equal(auth.check("Bearer new-secret", false)?.code, "unauthenticated");
});
