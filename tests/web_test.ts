/**
 * Browsers and caches end to end, against the real service (main.ts as a subprocess, started
 * with `--cors-origin`): compressed answers decode in curl (`--compressed`, h1 and h2) and in
 * the typed client (h1, h2, h3; JSON and Cap'n Proto); the client's GET form takes a 304 from
 * its tag cache and a new answer after an update; `deno task call --get` prints the tag and
 * honours `--if-none-match`; gzip bombs are refused without the service's peak RSS moving.
 */

import assert from "@std/assert";
import zlib from "node:zlib";
import { base64Url } from "../client/get_form.ts";
import { RpcClient, type Transport } from "../client/mod.ts";
import { createHttp3Transport } from "../http3/client.ts";
import { type ServiceProcess, startServiceProcess } from "./_service_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const cli = new URL("../client/cli.ts", import.meta.url).pathname;

/** Runs `fn` against a fresh service process, then stops it (exit 0 expected). */
async function withService(fn: (svc: ServiceProcess, token: string) => Promise<void>) {
  const svc = await startServiceProcess(["--cors-origin", "https://app.example"]);
  try {
    await fn(svc, (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim());
  } finally {
    const { code, stderr } = await svc.stop();
    assert.equal(code, 0, stderr);
  }
}

/** A JSON echo body of about `n` bytes of text that compresses well. */
function echoBody(n: number): string {
  return JSON.stringify({ payload: btoa("the same words again ".repeat(Math.ceil(n / 28))) });
}

async function run(command: string, args: string[]) {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** curl --compressed: the response head and the decoded body. */
async function curl(args: string[]): Promise<{ head: string; body: string }> {
  const headFile = await Deno.makeTempFile();
  try {
    const out = await run("curl", ["-sS", "--compressed", "-D", headFile, "-m", "20", ...args]);
    assert.equal(out.code, 0, out.stderr);
    return { head: await Deno.readTextFile(headFile), body: out.stdout };
  } finally {
    await Deno.remove(headFile);
  }
}

Deno.test("web: curl --compressed decodes zstd answers, POST and GET, over h1 and h2", async () => {
  await withService(async (svc, token) => {
    const body = echoBody(40_000);
    const bodyFile = await Deno.makeTempFile();
    await Deno.writeTextFile(bodyFile, body);
    const auth = ["-H", `authorization: Bearer ${token}`];
    const targets: [string, string[]][] = [
      [svc.plainUrl, []],
      [svc.ready.https, ["--http2", "--cacert", svc.ready.caPath!]],
    ];
    try {
      for (const [url, extra] of targets) {
        const posted = await curl([
          ...extra,
          ...auth,
          ...["-H", "content-type: application/json", "--data-binary", `@${bodyFile}`],
          `${url}/rpc/system.echo`,
        ]);
        assert.match(posted.head, /^content-encoding: zstd\r$/m, posted.head);
        assert.equal(posted.body, body);
        // A GET of a 4 KB echo: its message fits the URL bound, its answer is compressed.
        const small = echoBody(3000);
        const query = `encoding=json&message=${base64Url(encoder.encode(small))}`;
        const got = await curl([...extra, ...auth, `${url}/rpc/system.echo?${query}`]);
        assert.match(got.head, /^content-encoding: zstd\r$/m, got.head);
        assert.match(got.head, /^etag: W\/"j\.[0-9a-f]{16}"\r$/m);
        assert.match(got.head, /^cache-control: private, no-cache\r$/m);
        assert.equal(got.body, small);
      }
    } finally {
      await Deno.remove(bodyFile);
    }
  });
});

/** A transport that records each answer's Content-Encoding before the client reads it. */
function recording(transport: Transport, seen: (string | null)[]): Transport {
  return async (request) => {
    const response = await transport(request);
    seen.push(response.headers.get("content-encoding"));
    return response;
  };
}

Deno.test("web: the typed client decodes compressed answers over h1, h2 and h3", async () => {
  await withService(async (svc, token) => {
    const ca = await Deno.readTextFile(svc.ready.caPath!);
    const payload = encoder.encode("a payload that compresses ".repeat(4000));
    const h1 = Deno.createHttpClient({});
    const h2 = Deno.createHttpClient({ caCerts: [ca], http1: false, http2: true });
    const h3 = await createHttp3Transport({ url: svc.ready.https, caCerts: [ca] });
    const transports: [string, string, Transport][] = [
      ["h1", svc.plainUrl, (r) => fetch(r, { client: h1 })],
      ["h2", svc.ready.https, (r) => fetch(r, { client: h2 })],
      ["h3", svc.ready.https, h3],
    ];
    try {
      for (const [name, url, transport] of transports) {
        const seen: (string | null)[] = [];
        for (const wire of ["capnp", "json"] as const) {
          const client = new RpcClient({ url, wire, token, transport: recording(transport, seen) });
          const binary = await client.invoke("system.echo", { payload });
          assert.deepEqual(binary.payload, payload, name);
          const json = await client.callJson("system.echo", { payload: btoa("x".repeat(5000)) });
          assert.equal(atob((json as { payload: string }).payload), "x".repeat(5000));
        }
        assert.deepEqual(seen, ["zstd", "zstd", "zstd", "zstd"], name);
      }
    } finally {
      h1.close();
      h2.close();
      await h3.close();
    }
  });
});

Deno.test("web: the client's GET form sends If-None-Match and takes a 304 from its cache", async () => {
  await withService(async (svc, token) => {
    for (const wire of ["json", "capnp"] as const) {
      const client = new RpcClient({ url: svc.plainUrl, wire, token });
      const id = `web-${wire}`;
      const properties = [{ key: "k", value: "v1" }];
      if (wire === "json") {
        await client.callJson("worknode.create", { id, kind: "web", properties });
      } else await client.invoke("worknode.create", { id, kind: "web", properties });
      const first = await client.get<{ worknode: { version: number } }>("worknode.get", { id });
      assert.equal(first.status, 200);
      assert.match(first.etag!, /^W\/"[jc]\.wn\.1\./);
      const again = await client.get<{ worknode: { version: number } }>("worknode.get", { id });
      assert.equal(again.status, 304);
      assert.deepEqual(again.result, first.result);
      const update = { id, expectedVersion: 1, set: [{ key: "k", value: "v2" }], remove: [] };
      if (wire === "json") await client.callJson("worknode.update", update);
      else await client.invoke("worknode.update", update);
      const changed = await client.call<{ worknode: { version: number } }>(
        "worknode.get",
        { id },
        { get: true },
      );
      assert.equal(changed.worknode.version, 2);
      const refused = await client.get("worknode.delete", { id, expectedVersion: 2 }).catch((e) =>
        e
      );
      assert.equal(refused.httpStatus, 405);
      await client.close();
    }
  });
});

Deno.test("web: deno task call --get prints the tag; --if-none-match gets notModified", async () => {
  await withService(async (svc, token) => {
    const base = ["run", "-A", cli, "--url", svc.plainUrl, "--token", token];
    const created = await run(Deno.execPath(), [
      ...base,
      "worknode.create",
      '{"id":"cli-1","kind":"web","properties":[]}',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const first = await run(Deno.execPath(), [...base, "--get", "worknode.get", '{"id":"cli-1"}']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).worknode.id, "cli-1");
    const tag = /^etag: (.+)$/m.exec(first.stderr)?.[1];
    assert.match(tag ?? "", /^W\/"j\.wn\.1\./, first.stderr);
    const again = await run(Deno.execPath(), [
      ...base,
      ...["--get", "--if-none-match", tag!, "worknode.get", '{"id":"cli-1"}'],
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { notModified: true, etag: tag });
    const mutating = await run(Deno.execPath(), [...base, "--get", "worknode.delete", "{}"]);
    assert.equal(mutating.code, 1);
    assert.equal(JSON.parse(mutating.stdout).error.code, "unimplemented");
  });
});

/** The process's peak resident set (VmHWM), in KiB. */
async function peakRssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]);
}

/** `count` gzip members of `memberBytes` zero bytes each, one stream (it inflates to both). */
function gzipBomb(memberBytes: number, count: number): Uint8Array<ArrayBuffer> {
  const member = zlib.gzipSync(new Uint8Array(memberBytes), { level: 9 });
  const bomb = new Uint8Array(member.length * count);
  for (let i = 0; i < count; i++) bomb.set(member, i * member.length);
  return bomb;
}

Deno.test("web: gzip bombs are 413 (or 400 when the trailer lies), the peak RSS unchanged", async () => {
  await withService(async (svc, token) => {
    // 8 members of 64 MiB: 512 MiB inflated from ~0.5 MB, under the echo limit as sent.
    const honest = gzipBomb(64 << 20, 8);
    // The same stream whose last trailer claims 1,000 bytes: it is inflated until those fill.
    const lying = honest.slice();
    new DataView(lying.buffer).setUint32(lying.length - 4, 1000, true);
    const post = async (body: Uint8Array<ArrayBuffer>) => {
      const response = await fetch(`${svc.plainUrl}/rpc/system.echo`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "content-encoding": "gzip",
        },
        body,
      });
      return { status: response.status, text: await response.text() };
    };
    // Warm-up: the blocks and the gunzip engine are in use once before the peak is read.
    for (let i = 0; i < 3; i++) {
      assert.equal((await post(honest)).status, 413);
      assert.equal((await post(lying)).status, 400);
    }
    const before = await peakRssKiB(svc.child.pid);
    for (let i = 0; i < 40; i++) {
      const refused = await post(honest);
      assert.equal(refused.status, 413);
      assert.match(refused.text, /67108864 bytes exceeds/);
      const lied = await post(lying);
      assert.equal(lied.status, 400);
      assert.match(lied.text, /does not inflate to the 1000 bytes/);
    }
    const grownKiB = await peakRssKiB(svc.child.pid) - before;
    // 80 bombs of 512 MiB each: any inflation past the limit would show as hundreds of MiB.
    assert.ok(grownKiB < 4096, `peak RSS grew by ${grownKiB} KiB`);
    console.log(`gzip bombs: peak RSS before ${before} KiB, grown by ${grownKiB} KiB`);
  });
});
