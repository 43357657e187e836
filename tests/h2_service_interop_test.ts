/**
 * The service's TLS port (its HTTP/2) against real clients: curl --http2, nghttp and h2load (Debian
 * nghttp2-client), Deno's fetch, Node's `node:http2`, Bun's fetch and Chromium (QUIC off). Each
 * makes a small call, a ~1 MiB upload, and gets the early refusals right (401 without a token,
 * 501 for an unknown method, 413 for a declared body over the limit), with the upload still
 * being sent. The pool is back to 0 after each test.
 */

import assert from "@std/assert";
import http2 from "node:http2";
import { Buffer } from "node:buffer";
import { Pool } from "../pool/mod.ts";
import { Authenticator, hashToken } from "../rpc/auth.ts";
import { type RunningService, startService } from "../server/service.ts";
import { launchChromiumTcp } from "./_chromium.ts";
import { runCommand } from "./_command.ts";
import { fixedPlan } from "./_plan.ts";

const TOKEN = "h2-interop-token";
const CLASSES = [
  { blockSizeBytes: 4096, blockCount: 16 },
  { blockSizeBytes: 65536, blockCount: 4 },
  { blockSizeBytes: 2 << 20, blockCount: 4 },
];
const BUN = new URL("../.tools/node_modules/.bin/bun", import.meta.url).pathname;

/** About 1 MiB of JSON: the base64 of 700,000 bytes. */
const BIG_PAYLOAD = (() => {
  const bytes = new Uint8Array(700_000).map((_, i) => (i * 31) & 0xff);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
})();
const BIG_BODY = JSON.stringify({ payload: BIG_PAYLOAD });
const SMALL_BODY = JSON.stringify({ payload: btoa("hello") });

interface Fixture {
  readonly svc: RunningService;
  readonly origin: string;
  readonly caPath: string;
  readonly ca: string;
  readonly dir: string;
  readonly bigFile: string;
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const pool = Pool.open(CLASSES);
  const dir = await Deno.makeTempDir({ prefix: "h2-interop-" });
  const svc = await startService(
    { port: 0, hostname: "127.0.0.1", dataDir: dir, plaintextPort: 0, rpcTimeoutMsMax: 10_000 },
    fixedPlan(CLASSES),
    {
      pool,
      store: null,
      quiet: true,
      auth: new Authenticator([{ name: "t", scope: "admin", sha256: hashToken(TOKEN) }]),
    },
  );
  const bigFile = `${dir}/big.json`;
  await Deno.writeTextFile(bigFile, BIG_BODY);
  return {
    svc,
    origin: `https://localhost:${svc.port}`,
    caPath: svc.caPath!,
    ca: await Deno.readTextFile(svc.caPath!),
    dir,
    bigFile,
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The three early refusals every client must get while its upload is on its way. */
const REFUSALS = [
  { path: "/rpc/system.echo", token: false, status: 401 },
  { path: "/rpc/no.such.method", token: true, status: 501 },
] as const;

Deno.test("h2 interop: curl --http2", async () => {
  const t = await start();
  try {
    const curl = (args: string[]) =>
      runCommand("curl", [
        "-sS",
        "--http2",
        "--cacert",
        t.caPath,
        "-o",
        `${t.dir}/out`,
        "-w",
        "%{http_code} %{http_version}",
        "-H",
        "content-type: application/json",
        ...args,
      ]);
    const auth = ["-H", `authorization: Bearer ${TOKEN}`];
    const small = await curl([...auth, "-d", SMALL_BODY, `${t.origin}/rpc/system.echo`]);
    assert.equal(small.stdout, "200 2", small.stderr);
    const big = await curl([
      ...auth,
      "--data-binary",
      `@${t.bigFile}`,
      `${t.origin}/rpc/system.echo`,
    ]);
    assert.equal(big.stdout, "200 2", big.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(`${t.dir}/out`)).payload, BIG_PAYLOAD);
    for (const refusal of REFUSALS) {
      const args = refusal.token ? auth : [];
      const out = await curl([...args, "--data-binary", `@${t.bigFile}`, t.origin + refusal.path]);
      assert.equal(out.code, 0, `${refusal.path}: ${out.stderr}`);
      assert.equal(out.stdout, `${refusal.status} 2`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("h2 interop: nghttp and h2load", async () => {
  const t = await start();
  try {
    const auth = ["-H", `authorization: Bearer ${TOKEN}`, "-H", "content-type: application/json"];
    const nghttp = await runCommand("nghttp", [
      "-v",
      ...auth,
      "-d",
      t.bigFile,
      `${t.origin}/rpc/system.echo`,
    ]);
    assert.equal(nghttp.code, 0, nghttp.stderr);
    assert.match(nghttp.stdout, /:status: 200/);
    const refused = await runCommand("nghttp", ["-v", "-d", t.bigFile, `${t.origin}/rpc/x.y`]);
    assert.match(refused.stdout, /:status: 501/, refused.stderr);
    // A load of small calls (2 x 4 streams): within each connection's share of the 4 KiB class.
    const smallFile = `${t.dir}/small.json`;
    await Deno.writeTextFile(smallFile, SMALL_BODY);
    const h2load = await runCommand("h2load", [
      "-n",
      "200",
      "-c",
      "2",
      "-m",
      "4",
      ...auth,
      "-d",
      smallFile,
      `${t.origin}/rpc/system.echo`,
    ]);
    assert.equal(h2load.code, 0, h2load.stderr);
    assert.match(h2load.stdout, /200 succeeded, 0 failed, 0 errored/, h2load.stdout);
    assert.match(h2load.stdout, /status codes: 200 2xx/, h2load.stdout);
  } finally {
    await t.close();
  }
});

Deno.test("h2 interop: Deno's fetch over HTTP/2", async () => {
  const t = await start();
  const client = Deno.createHttpClient({ caCerts: [t.ca], http1: false, http2: true });
  try {
    const post = (path: string, body: string, token = true, length?: number) =>
      fetch(t.origin + path, {
        method: "POST",
        client,
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${TOKEN}` } : {}),
          ...(length === undefined ? {} : { "content-length": String(length) }),
        },
        body,
      });
    assert.equal(
      atob((await (await post("/rpc/system.echo", SMALL_BODY)).json()).payload),
      "hello",
    );
    const big = await post("/rpc/system.echo", BIG_BODY);
    assert.equal((await big.json()).payload, BIG_PAYLOAD);
    for (const refusal of REFUSALS) {
      const response = await post(refusal.path, BIG_BODY, refusal.token);
      assert.equal(response.status, refusal.status);
      await response.arrayBuffer();
    }
  } finally {
    client.close();
    await t.close();
  }
});

Deno.test("h2 interop: node:http2, including a declared body over the limit (413)", async () => {
  const t = await start();
  const session = http2.connect(t.origin, { ca: t.ca });
  const request = (
    path: string,
    body: string,
    headers: Record<string, string> = {},
    endLater = false,
  ) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/json",
        authorization: `Bearer ${TOKEN}`,
        ...headers,
      });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on("response", (h) => status = Number(h[":status"]));
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("end", () => resolve({ status, text: Buffer.concat(chunks).toString() }));
      stream.on("error", (e) => status > 0 ? resolve({ status, text: "" }) : reject(e));
      // An early answer is followed by RST_STREAM(NO_ERROR): the stream may close without "end".
      stream.on(
        "close",
        () =>
          status > 0
            ? resolve({ status, text: Buffer.concat(chunks).toString() })
            : reject(new Error("closed without a response")),
      );
      // `write()` then a separate `end()`: the END_STREAM comes in an empty DATA frame after the
      // body, which nghttp2 sends only on an open window.
      if (endLater) stream.write(body, () => stream.end());
      else stream.end(body);
    });
  try {
    assert.equal((await request("/rpc/system.echo", SMALL_BODY)).status, 200);
    const big = await request("/rpc/system.echo", BIG_BODY);
    assert.equal(JSON.parse(big.text).payload, BIG_PAYLOAD);
    const over = await request("/rpc/system.echo", "{}", { "content-length": String(2 << 20) })
      .catch((error) => ({ status: -1, text: String(error) }));
    assert.equal(over.status, 413, over.text);
    assert.equal((await request("/rpc/no.such", BIG_BODY)).status, 501);
    // Bodies of exactly the initial stream window and past it, declared, ended separately.
    for (const body of [SMALL_BODY.padEnd(16_384), BIG_BODY]) {
      const declared = { "content-length": String(body.length) };
      const echoed = await request("/rpc/system.echo", body, declared, true);
      assert.equal(echoed.status, 200, echoed.text);
    }
  } finally {
    session.destroy();
    await t.close();
  }
});

Deno.test("h2 interop: Bun's fetch", async () => {
  const t = await start();
  try {
    const script = `${t.dir}/bun_client.ts`;
    await Deno.writeTextFile(
      script,
      `
const [origin, token, bigFile] = process.argv.slice(2);
const big = await Bun.file(bigFile).text();
const tls = { rejectUnauthorized: false };
const post = async (path, body, auth) => {
  const headers = { "content-type": "application/json" };
  if (auth) headers.authorization = "Bearer " + token;
  const r = await fetch(origin + path, { method: "POST", headers, body, tls });
  const text = await r.text();
  return [r.status, text.length];
};
console.log(JSON.stringify([
  await post("/rpc/system.echo", ${JSON.stringify(SMALL_BODY)}, true),
  await post("/rpc/system.echo", big, true),
  await post("/rpc/system.echo", big, false),
  await post("/rpc/no.such", big, true),
]));
`,
    );
    const out = await runCommand(BUN, [
      script,
      `https://127.0.0.1:${t.svc.port}`,
      TOKEN,
      t.bigFile,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const results = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
    assert.deepEqual(results.map((r: number[]) => r[0]), [200, 200, 401, 501]);
    assert.equal(results[1][1], BIG_BODY.length);
  } finally {
    await t.close();
  }
});

Deno.test("h2 interop: Chromium (QUIC off) calls over HTTP/2", async () => {
  const t = await start();
  const chrome = await launchChromiumTcp({ leafPem: await Deno.readTextFile(t.svc.certPath) });
  try {
    const page = await chrome.context.newPage();
    const response = await page.goto(`${t.origin}/healthz`);
    assert.equal(response?.status(), 200);
    const result = await page.evaluate(async ([token, big]) => {
      const post = async (path: string, body: string, auth: boolean) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (auth) headers.authorization = `Bearer ${token}`;
        const r = await fetch(path, { method: "POST", headers, body });
        return [r.status, (await r.text()).length];
      };
      const calls = [
        await post("/rpc/system.echo", JSON.stringify({ payload: btoa("hi") }), true),
        await post("/rpc/system.echo", big, true),
        await post("/rpc/system.echo", big, false),
        await post("/rpc/no.such", big, true),
      ];
      const nav = performance.getEntriesByType("navigation")[0] as unknown as {
        nextHopProtocol: string;
      };
      return { calls, protocol: nav.nextHopProtocol };
    }, [TOKEN, BIG_BODY] as const);
    assert.equal(result.protocol, "h2");
    assert.deepEqual(result.calls.map((c) => c[0]), [200, 200, 401, 501]);
    assert.equal(result.calls[1][1], BIG_BODY.length);
    await page.close();
  } finally {
    await chrome.close();
    await t.close();
  }
});
