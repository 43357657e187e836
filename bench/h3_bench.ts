/**
 * HTTP/3 throughput: `deno bench --unstable-net -A bench/h3_bench.ts`. The server runs in its
 * own process (`bench/h3_bench_server.ts`), the clients here.
 *
 * Every iteration sends 256 requests, 16 at a time, on one connection, after a warm-up of every
 * call (24 x 256 each: with 8, the first alternating rounds still ran up to 2x slower) so that
 * each benchmark measures steady state.
 * - "h3 vs raw QUIC": `system.echo` (binary Cap'n Proto, the service's own wire, as in
 *   bench/rpc_h1_bench.ts) through the whole stack over HTTP/3 (QPACK, frames, the RPC route,
 *   pool leases) against a bare QUIC stream echo (write the same bytes, FIN, read the echo) with
 *   the same Deno QUIC client and concurrency. Target: h3 >= 0.80x of raw QUIC. The same call
 *   in JSON (base64 payload) shows the JSON wire's extra cost. The same POST to an unknown method (501 before any body byte is read, no pool block) shows the
 *   HTTP/3 layer and the direct RPC route without the call itself; a GET of /healthz goes
 *   through the app's `fetch` (Request, Hono, Response).
 *
 * The same call over every transport of the service as shipped (auth, request log, store, its
 * pool's fair shares) is bench/shipped_bench.ts. (The "h1 / h2 / h3" group that ran here sent 16
 * h2 streams on one connection to this small-pool service, over its per-connection share: 429.)
 *
 * Deno.bench runs one benchmark after another, and the same h3 call measured in two groups has
 * differed by 30% (the order, the GC state it inherits). So the headline ratio also comes from
 * alternating rounds at load time (raw, h3 binary, h3 JSON in a rotating order; H3_BENCH_ROUNDS
 * times, default 7,
 * each round 4 x 256 calls per kind), printed as the median of the per-round ratios; set
 * H3_BENCH_ROUNDS=0 to skip them.
 *
 * @module
 */

import { ECHO_BINARY_BODY, ECHO_JSON_BODY } from "./_echo_bodies.ts";
import { H3Client } from "../http3/client.ts";

const REQUEST_COUNT = 256;
const CONCURRENCY = 16;
/** Batches of each call run before the benchmarks (see the warm-up below). */
const WARMUP_BATCH_COUNT = 24;

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "--unstable-net", "-A", new URL("./h3_bench_server.ts", import.meta.url).pathname],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
const { value: firstLine } = await lines.read();
const { port, rawPort, caPath } = JSON.parse(firstLine ?? "{}");
const caPem = await Deno.readTextFile(caPath);
const origin = `https://localhost:${port}`;

const body = ECHO_BINARY_BODY;
const bodyBytes = body;
const jsonBody = ECHO_JSON_BODY;
const url = `${origin}/rpc/system.echo`;
const init = { method: "POST", headers: { "content-type": "application/capnp" } };
const jsonInit = { method: "POST", headers: { "content-type": "application/json" } };

const h3 = await H3Client.connect({
  hostname: "127.0.0.1",
  port,
  caCerts: [caPem],
  serverName: "localhost",
});
const rawConn = await Deno.connectQuic({
  hostname: "127.0.0.1",
  port: rawPort,
  serverName: "localhost",
  caCerts: [caPem],
  alpnProtocols: ["echo"],
});

async function rawEcho(): Promise<void> {
  const stream = await rawConn.createBidirectionalStream({ waitUntilAvailable: true });
  const writer = stream.writable.getWriter();
  await writer.write(bodyBytes);
  await writer.close();
  // BYOB reads with 4 KiB buffers, as the HTTP/3 client does.
  const reader = stream.readable.getReader({ mode: "byob" });
  let total = 0;
  for (let i = 0; i < 1024; i++) {
    const { done, value } = await reader.read(new Uint8Array(4096));
    if (done) break;
    total += value.length;
  }
  if (total !== bodyBytes.length) throw new Error(`raw echo returned ${total} bytes`);
}

async function checked(response: Response): Promise<void> {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`status ${response.status}: ${text}`);
}

/** Runs `REQUEST_COUNT` calls with `CONCURRENCY` in flight. */
async function batch(call: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < REQUEST_COUNT) {
      next++;
      await call();
    }
  }));
}

const callH3 = async () => await checked(await h3.fetch(url, { ...init, body }));
const callH3Json = async () => await checked(await h3.fetch(url, { ...jsonInit, body: jsonBody }));
const callH3Health = async () => await checked(await h3.fetch(`${origin}/healthz`));
const callH3Unknown = async () => {
  const response = await h3.fetch(`${origin}/rpc/system.unknown`, { ...init, body });
  await response.arrayBuffer();
  if (response.status !== 501) throw new Error(`status ${response.status}`);
};

// Warm-up: the server's and the client's code paths for every call are compiled (JIT) before
// any timing, so no benchmark pays for another's warm-up. (Without it the first h3 benchmark ran
// 1.5-4x slower than the same call measured later in the file.)
for (const call of [rawEcho, callH3, callH3Json, callH3Unknown, callH3Health]) {
  for (let round = 0; round < WARMUP_BATCH_COUNT; round++) await batch(call);
}

const ROUNDS = Number(Deno.env.get("H3_BENCH_ROUNDS") ?? "7");
/** Batches per kind in one alternating round. */
const ROUND_BATCH_COUNT = 4;

/** Milliseconds `ROUND_BATCH_COUNT` batches of `call` take. */
async function timed(call: () => Promise<void>): Promise<number> {
  const startMs = performance.now();
  for (let i = 0; i < ROUND_BATCH_COUNT; i++) await batch(call);
  return performance.now() - startMs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (ROUNDS > 0) {
  const ratios = { binary: [] as number[], json: [] as number[] };
  const times = { raw: [] as number[], binary: [] as number[], json: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    // The order rotates, so no kind always runs right after another (GC debt, JIT state).
    const kinds = [rawEcho, callH3, callH3Json];
    const ms = new Map<() => Promise<void>, number>();
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(round + k) % kinds.length];
      ms.set(kind, await timed(kind));
    }
    const raw = ms.get(rawEcho)!;
    const binary = ms.get(callH3)!;
    const json = ms.get(callH3Json)!;
    times.raw.push(raw);
    times.binary.push(binary);
    times.json.push(json);
    // Throughput ratio h3 / raw = raw's time / h3's time for the same number of calls.
    ratios.binary.push(raw / binary);
    ratios.json.push(raw / json);
  }
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const calls = ROUND_BATCH_COUNT * REQUEST_COUNT;
  console.log(`
alternating rounds (${ROUNDS} x ${calls} calls per kind, ms per round):`);
  console.log(`  raw QUIC stream echo:        ${fmt(times.raw)}`);
  console.log(`  h3 system.echo binary:       ${fmt(times.binary)}`);
  console.log(`  h3 system.echo JSON:         ${fmt(times.json)}`);
  console.log(
    `  h3 binary / raw (median):    ${median(ratios.binary).toFixed(2)}x (target >= 0.80x)`,
  );
  console.log(`  h3 JSON / raw (median):      ${median(ratios.json).toFixed(2)}x\n`);
}

globalThis.addEventListener("unload", () => {
  rawConn.close();
  h3.connection.close();
  // Closing its stdin stops the server process.
  server.stdin.close();
});

Deno.bench({
  name: "raw QUIC stream echo x256 (c16)",
  group: "h3 vs raw QUIC",
  baseline: true,
  async fn() {
    await batch(rawEcho);
  },
});

Deno.bench({
  name: "h3 system.echo x256 (c16)",
  group: "h3 vs raw QUIC",
  async fn() {
    await batch(callH3);
  },
});

Deno.bench({
  name: "h3 system.echo JSON x256 (c16)",
  group: "h3 vs raw QUIC",
  async fn() {
    await batch(callH3Json);
  },
});

Deno.bench({
  name: "h3 unknown method 501 x256 (c16)",
  group: "h3 vs raw QUIC",
  async fn() {
    await batch(callH3Unknown);
  },
});

Deno.bench({
  name: "h3 GET /healthz x256 (c16)",
  group: "h3 vs raw QUIC",
  async fn() {
    await batch(callH3Health);
  },
});
