/**
 * The real service (`main.ts` as `deno task start` runs it) from an empty data directory: auth is
 * on by default with a generated admin token that `deno task call` finds by itself, over
 * HTTP/1.1, HTTP/2 and HTTP/3; one JSON log line per request naming the transport; `/readyz`; a
 * restart reuses the token; `--log-level warn` logs no requests.
 */

import assert from "@std/assert";
import { startServiceProcess } from "./_service_process.ts";

const CLI = new URL("../client/cli.ts", import.meta.url).pathname;
/** The flags of `deno task call` (deno.json). */
const CALL_FLAGS = ["--unstable-net", "--allow-read", "--allow-net", "--allow-env"];

async function callCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...CALL_FLAGS, CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The first start generated an admin token: 0600 file, only its hash kept. */
async function checkGeneratedToken(svc: Awaited<ReturnType<typeof startServiceProcess>>) {
  const ready = svc.ready;
  assert.equal(ready.adminTokenGenerated, true);
  assert.equal(ready.adminTokenPath, `${svc.dataDir}/admin.token`);
  assert.equal((await Deno.stat(ready.adminTokenPath!)).mode! & 0o777, 0o600);
  const token = (await Deno.readTextFile(ready.adminTokenPath!)).trim();
  assert.match(token, /^[A-Za-z0-9_-]{43}$/);
  const stored = await Deno.readTextFile(`${svc.dataDir}/tokens.json`);
  assert.ok(!stored.includes(token), "only the token's hash is kept");
}

Deno.test("main: auth on by default, the generated token works from deno task call on h1/h2/h3", async () => {
  const svc = await startServiceProcess();
  let stopped = false;
  try {
    const ready = svc.ready;
    await checkGeneratedToken(svc);

    const anonymous = await fetch(`${svc.plainUrl}/rpc/system.echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"payload":"AQ=="}',
    });
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, "unauthenticated");
    const ready200 = await fetch(`${svc.plainUrl}/readyz`);
    assert.deepEqual([ready200.status, await ready200.text()], [200, "ready"]);

    const dataDir = ["--data-dir", svc.dataDir];
    const h1 = await callCli([
      ...dataDir,
      "--url",
      svc.plainUrl,
      "system.echo",
      '{"payload":"AQ=="}',
    ]);
    assert.equal(h1.code, 0, h1.stdout + h1.stderr);
    assert.deepEqual(JSON.parse(h1.stdout), { payload: "AQ==" });
    const tlsUrl = ready.https.replace("127.0.0.1", "localhost");
    for (const http of ["2", "3"]) {
      const out = await callCli([
        ...dataDir,
        "--url",
        tlsUrl,
        "--http",
        http,
        "system.config",
        "{}",
      ]);
      assert.equal(out.code, 0, `h${http}: ${out.stdout}${out.stderr}`);
      assert.equal(JSON.parse(out.stdout).profile, "rpc");
    }
    const wrong = await callCli(["--token", "nope", "--url", svc.plainUrl, "system.config", "{}"]);
    assert.equal(wrong.code, 1);
    assert.equal(JSON.parse(wrong.stdout).error.code, "unauthenticated");

    const result = await svc.stop();
    stopped = true;
    assert.equal(result.code, 0, result.stderr);
    const rpc = svc.lines.filter((line) => line.msg === "rpc");
    assert.deepEqual(rpc.map((line) => [line.method, line.code, line.httpStatus, line.transport]), [
      ["system.echo", "unauthenticated", 401, "h1"],
      ["system.echo", "ok", 200, "h1"],
      ["system.config", "ok", 200, "h2"],
      ["system.config", "ok", 200, "h3"],
      ["system.config", "unauthenticated", 401, "h1"],
    ]);
    const echo = rpc[1];
    assert.equal(echo.bytesIn, '{"payload":"AQ=="}'.length);
    assert.equal(echo.bytesOut, '{"payload":"AQ=="}'.length);
    assert.equal(typeof echo.durationMs, "number");
    assert.equal(typeof echo.leasesHeld, "number");
    assert.equal(rpc[0].bytesIn, 0, "a rejected call read no body");
  } finally {
    if (!stopped) await svc.stop("SIGKILL");
  }
});

Deno.test("main: a restart reuses the token's hash; --log-level warn logs no requests", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "svc-restart-" });
  try {
    const first = await startServiceProcess([], { dataDir });
    const token = (await Deno.readTextFile(`${dataDir}/admin.token`)).trim();
    assert.equal((await first.stop()).code, 0);
    const second = await startServiceProcess(["--log-level", "warn"], { dataDir });
    let code = -1;
    try {
      assert.equal(second.ready.adminTokenGenerated, false);
      assert.equal((await Deno.readTextFile(`${dataDir}/admin.token`)).trim(), token);
      const response = await fetch(`${second.plainUrl}/rpc/system.config`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: "{}",
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      code = (await second.stop()).code;
    }
    assert.equal(code, 0);
    assert.deepEqual(second.lines.filter((line) => line.msg === "rpc"), []);
    assert.deepEqual(second.lines.map((line) => line.msg), ["ready"]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
