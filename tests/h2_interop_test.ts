/**
 * Interop smoke tests of the HTTP/2 engine with real clients over TLS (ALPN h2): curl --http2,
 * nghttp, h2load (Debian nghttp2-client), Node's node:http2 client and Deno's fetch. Each does
 * a small GET, a 1 MiB upload that is echoed, and gets an early refusal (413 before the body
 * was read: the engine then ends the upload with RST_STREAM(NO_ERROR)). The service's full
 * interop (Chromium, Bun, the RPC adapter) is tested with the listener.
 */

import assert from "@std/assert";
import type { H2Handler } from "../http2/mod.ts";
import { runCommand } from "./_command.ts";
import { startH2Server, testCertificates } from "./_h2_server.ts";

const MIB = 1024 * 1024;
const encoder = new TextEncoder();

/** GET answers "ok <path>"; /refuse answers 413 at once; other uploads are echoed. */
const handler: H2Handler = {
  onRequest(head, stream) {
    if (head.path === "/refuse") {
      stream.respond(413, [["content-type", "text/plain"]], encoder.encode("too large"));
    } else if (head.endStream) {
      stream.respond(200, [["content-type", "text/plain"]], encoder.encode(`ok ${head.path}`));
    } else if (head.contentLengthBytes > 0) {
      stream.grant(head.contentLengthBytes);
    }
    const chunks: Uint8Array[] = [];
    return {
      onData(bytes) {
        chunks.push(bytes.slice());
        if (head.contentLengthBytes < 0) stream.grant(bytes.length);
      },
      onEnd() {
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const chunk of chunks) [body.set(chunk, at), at += chunk.length];
        stream.respond(200, [["content-type", "application/octet-stream"]], body);
      },
      onAbort() {},
    };
  },
};

/** A 1 MiB file of a known pattern, and its bytes. */
async function uploadFile(): Promise<{ path: string; bytes: Uint8Array<ArrayBuffer> }> {
  const bytes = new Uint8Array(MIB).map((_, i) => (i * 31) % 256);
  const path = await Deno.makeTempFile({ prefix: "h2-upload-" });
  await Deno.writeFile(path, bytes);
  return { path, bytes };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("interop: curl --http2 — GET, 1 MiB echo, early 413 (exit 0)", async () => {
  const server = await startH2Server({ handler });
  const { caPath } = await testCertificates();
  const upload = await uploadFile();
  const out = await Deno.makeTempFile({ prefix: "h2-curl-" });
  const url = `https://localhost:${server.port}`;
  const base = [
    "--http2",
    "-sS",
    "--cacert",
    caPath,
    "--resolve",
    `localhost:${server.port}:127.0.0.1`,
  ];
  try {
    const get = await runCommand("curl", [...base, "-w", " %{http_version}", `${url}/small`]);
    assert.equal(get.stdout, "ok /small 2", get.stderr);
    const echo = await runCommand("curl", [
      ...base,
      "--data-binary",
      `@${upload.path}`,
      "-o",
      out,
      `${url}/echo`,
    ]);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(await sha256(await Deno.readFile(out)), await sha256(upload.bytes));
    // The RST_STREAM(NO_ERROR) goes in a later write than the answer: curl 7.88 exits 0.
    const refused = await runCommand("curl", [
      ...base,
      "--data-binary",
      `@${upload.path}`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `${url}/refuse`,
    ]);
    assert.equal(refused.stdout, "413", refused.stderr);
    assert.equal(refused.code, 0, refused.stderr);
  } finally {
    await Deno.remove(upload.path);
    await Deno.remove(out);
    await server.close();
  }
});

Deno.test("interop: nghttp and h2load — GET, 1 MiB echo, early 413, 2,000 requests", async () => {
  const server = await startH2Server({ handler });
  const upload = await uploadFile();
  const url = `https://127.0.0.1:${server.port}`;
  try {
    const get = await runCommand("nghttp", ["-n", "-s", `${url}/small`]);
    assert.equal(get.code, 0, get.stdout + get.stderr);
    const echo = await runCommand("nghttp", ["-v", "-d", upload.path, `${url}/echo`]);
    assert.equal(echo.code, 0, echo.stderr);
    assert.match(echo.stdout, /:status: 200/);
    assert.match(echo.stdout, /recv DATA frame <length=\d+, flags=0x01, stream_id=13>/);
    const refused = await runCommand("nghttp", ["-v", "-d", upload.path, `${url}/refuse`]);
    assert.match(refused.stdout, /:status: 413/);
    assert.match(
      refused.stdout,
      /recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>\s+\(error_code=NO_ERROR/,
    );
    const small = await Deno.makeTempFile({ prefix: "h2-small-" });
    await Deno.writeTextFile(small, "hi");
    const args = ["-c", "4", "-m", "8", "-n", "2000", "-d", small, `${url}/echo`];
    const load = await runCommand("h2load", args);
    await Deno.remove(small);
    assert.match(load.stdout, /2000 succeeded, 0 failed, 0 errored/, load.stdout);
    assert.match(load.stdout, /status codes: 2000 2xx/);
  } finally {
    await Deno.remove(upload.path);
    await server.close();
  }
});

Deno.test("interop: Node's node:http2 client — GET, 1 MiB echo, early 413", async () => {
  const server = await startH2Server({ handler });
  const { caPath } = await testCertificates();
  const script = `
    const http2 = require("node:http2");
    const fs = require("node:fs");
    const crypto = require("node:crypto");
    const session = http2.connect("https://localhost:${server.port}", { ca: fs.readFileSync(${
    JSON.stringify(caPath)
  }), lookup: (h, o, cb) => cb(null, [{ address: "127.0.0.1", family: 4 }]) });
    const call = (path, body) => new Promise((resolve, reject) => {
      const headers = { ":method": body ? "POST" : "GET", ":path": path };
      if (body) headers["content-length"] = body.length;
      const req = session.request(headers);
      let status = 0; const parts = [];
      req.on("response", (h) => status = h[":status"]);
      req.on("data", (d) => parts.push(d));
      req.on("end", () => resolve({ status, body: Buffer.concat(parts) }));
      req.on("error", reject);
      if (body) req.end(body); else req.end();
    });
    (async () => {
      const big = Buffer.alloc(${MIB}, 7);
      const get = await call("/small");
      const echo = await call("/echo", big);
      const refused = await call("/refuse", big).catch((e) => ({ status: "error " + e.code }));
      console.log(JSON.stringify({ get: [get.status, get.body.toString()], echo: [echo.status, echo.body.length, crypto.createHash("sha256").update(echo.body).digest("hex") === crypto.createHash("sha256").update(big).digest("hex")], refused: refused.status }));
      session.close();
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  try {
    const result = await runCommand("node", ["-e", script]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      get: [200, "ok /small"],
      echo: [200, MIB, true],
      refused: 413,
    });
  } finally {
    await server.close();
  }
});

Deno.test("interop: Deno's fetch over h2 — GET, 1 MiB echo, early 413", async () => {
  const server = await startH2Server({ handler });
  const { ca } = await testCertificates();
  const client = Deno.createHttpClient({ caCerts: [ca], http1: false, http2: true });
  const url = `https://localhost:${server.port}`;
  try {
    const get = await fetch(`${url}/small`, { client });
    assert.equal(await get.text(), "ok /small");
    const big = new Uint8Array(MIB).map((_, i) => i % 253);
    const echo = await fetch(`${url}/echo`, { client, method: "POST", body: big });
    assert.equal(await sha256(new Uint8Array(await echo.arrayBuffer())), await sha256(big));
    const refused = await fetch(`${url}/refuse`, { client, method: "POST", body: big });
    assert.equal(refused.status, 413);
    assert.equal(await refused.text(), "too large");
  } finally {
    client.close();
    await server.close();
  }
});
