import assert from "@std/assert";
import { CallHead } from "./call_head.ts";
import { CORS_ALLOW_HEADERS, parseCorsOrigin } from "./web_config.ts";
import { WebPolicy } from "./web_policy.ts";

function head(fields: Record<string, string>): CallHead {
  const h = new CallHead();
  for (const [name, value] of Object.entries(fields)) h.readField(name, value);
  return h;
}

function get(answerFields: readonly (readonly [string, string])[], name: string) {
  return answerFields.find(([n]) => n === name)?.[1];
}

Deno.test("web policy: exact origins only; one Origin field; the grant per origin", () => {
  const web = new WebPolicy({ corsOrigins: ["https://a.example", "http://localhost:3000"] });
  const granted = web.fieldsOf(head({ origin: "https://a.example" }), false)!;
  assert.equal(get(granted.post, "access-control-allow-origin"), "https://a.example");
  assert.equal(get(granted.post, "vary"), "origin");
  assert.equal(
    get(
      web.fieldsOf(head({ origin: "http://localhost:3000" }), false)!.post,
      "access-control-allow-origin",
    ),
    "http://localhost:3000",
  );
  for (
    const origin of ["https://a.example.evil", "https://A.example", "http://a.example", "null"]
  ) {
    assert.equal(web.fieldsOf(head({ origin }), false), null, origin);
  }
  const twice = head({ origin: "https://a.example" });
  twice.readField("origin", "https://a.example");
  assert.equal(web.fieldsOf(twice, false), null, "two Origin fields get no grant");
  assert.equal(web.fieldsOf(head({}), false), null, "no Origin: nothing to add to a POST");
  // A GET always gets the caching fields; the grant only for an allowed origin.
  const plainGet = web.fieldsOf(head({}), true)!;
  assert.equal(get(plainGet.getOk, "cache-control"), "private, no-cache");
  assert.equal(get(plainGet.getOk, "vary"), "accept-encoding, origin");
  assert.equal(get(plainGet.getError, "cache-control"), "no-store");
  assert.equal(get(plainGet.getOk, "access-control-allow-origin"), undefined);
});

Deno.test("web policy: preflights from shared answers; Allow for everyone else", () => {
  const web = new WebPolicy({ corsOrigins: ["https://a.example"], cacheControl: "no-cache" });
  const preflight = head({ origin: "https://a.example", "access-control-request-method": "PUT" });
  const safe = web.preflight(preflight, true);
  assert.equal(safe.status, 204);
  assert.equal(safe.contentType, "");
  assert.equal(get(safe.fields, "access-control-allow-methods"), "GET, POST");
  assert.equal(get(safe.fields, "access-control-allow-headers"), CORS_ALLOW_HEADERS);
  assert.equal(get(safe.fields, "access-control-max-age"), "600");
  assert.equal(web.preflight(preflight, true), safe, "shared: no allocation per preflight");
  assert.equal(get(web.preflight(preflight, false).fields, "access-control-allow-methods"), "POST");
  const plain = web.preflight(head({ origin: "https://a.example" }), true);
  assert.equal(get(plain.fields, "access-control-allow-origin"), undefined, "not a preflight");
  assert.equal(get(plain.fields, "allow"), "GET, POST, OPTIONS");
  const other = web.preflight(
    head({ origin: "https://b.example", "access-control-request-method": "POST" }),
    false,
  );
  assert.equal(get(other.fields, "access-control-allow-origin"), undefined);
  assert.equal(get(other.fields, "allow"), "POST, OPTIONS");
  assert.equal(get(web.fieldsOf(head({}), true)!.getOk, "cache-control"), "no-cache");
});

Deno.test("web policy: no origins is today's same-origin service; compression can be off", () => {
  const web = new WebPolicy({ compressMinBytes: null });
  assert.equal(web.corsEnabled, false);
  assert.equal(web.fieldsOf(head({ origin: "https://a.example" }), false), null);
  const preflight = head({ origin: "https://a.example", "access-control-request-method": "POST" });
  assert.deepEqual(web.preflight(preflight, false).fields, [["allow", "POST, OPTIONS"]]);
  assert.equal(web.codingOf(head({ "accept-encoding": "gzip" })), null);
  assert.equal(get(web.fieldsOf(head({}), true)!.getOk, "vary"), undefined);
  const on = new WebPolicy({});
  assert.equal(on.codingOf(head({ "accept-encoding": "gzip, zstd" })), "zstd");
  assert.equal(on.codingOf(head({ "accept-encoding": "gzip" })), "gzip");
  assert.throws(() => new WebPolicy({ corsOrigins: ["https://a.example/"] }), /not an origin/);
  assert.throws(() => new WebPolicy({ cacheControl: "" }), /visible ASCII/);
  assert.throws(() => parseCorsOrigin("ftp://a.example"), /not an origin/);
  assert.equal(parseCorsOrigin("http://[::1]:8080"), "http://[::1]:8080");
});
