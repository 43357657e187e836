/** `deno task call` (client/cli.ts) as a subprocess against a real service. */

import assert from "@std/assert";
import { startTestService } from "./_rpc_harness.ts";

const deno = Deno.execPath();
const cli = new URL("../client/cli.ts", import.meta.url).pathname;

async function call(args: string[]) {
  const out = await new Deno.Command(deno, {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("call CLI: result as JSON, RPC error exit 1, bad usage exit 2, h2 with --ca", async () => {
  const t = await startTestService();
  try {
    const ok = await call(["--url", t.plainUrl, "system.echo", '{"payload":"AQID"}']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { payload: "AQID" });
    const h2 = await call([
      "--url",
      t.tlsUrl,
      "--http",
      "2",
      "--ca",
      t.svc.caPath!,
      "system.config",
      "{}",
    ]);
    assert.equal(h2.code, 0, h2.stderr);
    assert.equal(JSON.parse(h2.stdout).profile, "rpc");
    const unknown = await call(["--url", t.plainUrl, "no.such", "{}"]);
    assert.equal(unknown.code, 1);
    assert.equal(JSON.parse(unknown.stdout).error.code, "unimplemented");
    const usage = await call(["--bogus", "x", "system.echo"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown flag --bogus/);
  } finally {
    await t.close();
  }
});
