/**
 * Strict JSON params through the running service over HTTP/1.1: a string is not a number, a
 * number is not a string, unknown fields are refused; each refusal is a 400 invalid_argument
 * whose message names the field, and the same call with the right types is answered.
 */

import assert from "@std/assert";
import { startTestService } from "./_rpc_harness.ts";

async function postJson(
  url: string,
  method: string,
  body: string,
): Promise<{ status: number; json: { error?: { code: string; message: string } } }> {
  const response = await fetch(`${url}/rpc/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: response.status, json: await response.json() };
}

Deno.test("JSON params are strictly typed over HTTP, refusals name the field", async () => {
  const t = await startTestService();
  try {
    const refused: [string, string, RegExp][] = [
      [
        "worknode.list",
        '{"limit":"2"}',
        /WorknodeListParams\.limit must be a number, not a string/,
      ],
      ["worknode.list", '{"limit":2.5}', /WorknodeListParams\.limit must be an integer/],
      ["worknode.list", '{"kind":7}', /WorknodeListParams\.kind must be a string, not a number/],
      ["worknode.get", '{"id":null}', /WorknodeGetParams\.id must be a string, not null/],
      ["sheaf.glue", '{"resolve":"true"}', /SheafGlueParams\.resolve must be a boolean/],
      ["worknode.update", '{"remove":"k"}', /WorknodeUpdateParams\.remove must be an array/],
      [
        "worknode.update",
        '{"id":"w","expectedVersoin":3}',
        /WorknodeUpdateParams\.expectedVersoin is not a field of this struct/,
      ],
      ["system.echo", '{"payload":5}', /SystemEchoParams\.payload must be base64 text/],
    ];
    for (const [method, body, pattern] of refused) {
      const { status, json } = await postJson(t.plainUrl, method, body);
      assert.equal(status, 400, `${method} ${body}`);
      assert.equal(json.error?.code, "invalid_argument", `${method} ${body}`);
      assert.match(json.error?.message ?? "", pattern, `${method} ${body}`);
    }
    // The same kind of call with the right types passes the params check.
    const ok = await postJson(t.plainUrl, "system.echo", '{"payload":"aGk="}');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { payload: "aGk=" });
  } finally {
    await t.close();
  }
});
