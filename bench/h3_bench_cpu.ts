/**
 * CPU time per call of the HTTP/3 bench server and its client:
 * `deno run --unstable-net -A bench/h3_bench_cpu.ts [calls] [rounds] [modes]` (modes: a
 * comma-separated subset, default all).
 *
 * Wall-clock figures on a shared 2-core box vary by ±30% from run to run; CPU time per call
 * varies less and says which side pays. For each of `raw` (bare QUIC stream echo), `h3`
 * (`POST /rpc/system.echo` over HTTP/3, binary; `h3-json` the same call in JSON), `h3-501` (the same POST to an unknown method: the
 * HTTP/3 layer and the direct route without the call) and `health` (`GET /healthz` over
 * HTTP/3, through the app's fetch), every round
 * starts `h3_bench_server.ts`, warms up with 1,000 calls, then times `calls` calls (default
 * 5,000; 16 in flight, one connection) and reads the server's CPU time from
 * `/proc/<pid>/stat` and its own from `process.cpuUsage()`. Prints the minimum and median over
 * `rounds` rounds (default 3) in microseconds per call. Linux only.
 *
 * @module
 */

import process from "node:process";
import { ECHO_BINARY_BODY, ECHO_JSON_BODY } from "./_echo_bodies.ts";
import { H3Client } from "../http3/client.ts";

const CONCURRENCY = 16;
const WARMUP_CALL_COUNT = 1000;
const callCount = Number(Deno.args[0] ?? 5000);
const roundCount = Number(Deno.args[1] ?? 3);
if (!Number.isSafeInteger(callCount) || callCount < 1 || callCount > 1_000_000) {
  throw new RangeError(`Cannot run: calls ${Deno.args[0]} is not 1..1000000`);
}
if (!Number.isSafeInteger(roundCount) || roundCount < 1 || roundCount > 100) {
  throw new RangeError(`Cannot run: rounds ${Deno.args[1]} is not 1..100`);
}

const MODES_ALL = ["raw", "h3", "h3-json", "h3-501", "health"] as const;
type Mode = typeof MODES_ALL[number];
// An optional third argument picks modes, e.g. "raw,h3" (more calls for the same time).
const MODES = (Deno.args[2]?.split(",") ?? MODES_ALL) as Mode[];
for (const mode of MODES) {
  if (!(MODES_ALL as readonly string[]).includes(mode)) {
    throw new RangeError(`Cannot run: mode ${mode} is not one of ${MODES_ALL.join(", ")}`);
  }
}

/** User + system CPU time of a process in ms (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function runCalls(call: () => Promise<void>, count: number): Promise<void> {
  let started = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (started < count) {
      started++;
      await call();
    }
  }));
}

/**
 * The call of each mode: the binary call (the service's wire, as in h3_bench.ts); `h3-json`
 * posts the JSON form.
 */
function callsFor(
  h3: H3Client,
  raw: Deno.QuicConn,
  origin: string,
): Record<Mode, () => Promise<void>> {
  const body = ECHO_BINARY_BODY;
  const bodyBytes = body;
  const jsonBody = ECHO_JSON_BODY;
  return {
    async raw() {
      const stream = await raw.createBidirectionalStream({ waitUntilAvailable: true });
      const writer = stream.writable.getWriter();
      await writer.write(bodyBytes);
      await writer.close();
      const reader = stream.readable.getReader({ mode: "byob" });
      // Bounded by the echo of a small body.
      for (let i = 0; i < 1024; i++) {
        if ((await reader.read(new Uint8Array(4096))).done) break;
      }
    },
    async h3() {
      const init = { method: "POST", headers: { "content-type": "application/capnp" }, body };
      const response = await h3.fetch(`${origin}/rpc/system.echo`, init);
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      await response.arrayBuffer();
    },
    async "h3-json"() {
      const init = {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: jsonBody,
      };
      const response = await h3.fetch(`${origin}/rpc/system.echo`, init);
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      await response.arrayBuffer();
    },
    async "h3-501"() {
      const init = { method: "POST", headers: { "content-type": "application/capnp" }, body };
      const response = await h3.fetch(`${origin}/rpc/system.unknown`, init);
      if (response.status !== 501) throw new Error(`status ${response.status}`);
      await response.arrayBuffer();
    },
    async health() {
      await (await h3.fetch(`${origin}/healthz`)).arrayBuffer();
    },
  };
}

/** One round of one mode against a fresh server: [server, client] CPU us per call. */
async function round(mode: Mode): Promise<[number, number]> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "-A",
      new URL("./h3_bench_server.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { port, rawPort, caPath } = JSON.parse((await lines.read()).value ?? "{}");
  const caPem = await Deno.readTextFile(caPath);
  const origin = `https://localhost:${port}`;
  const connect = { hostname: "127.0.0.1", serverName: "localhost", caCerts: [caPem] };
  const h3 = await H3Client.connect({ ...connect, port });
  const raw = await Deno.connectQuic({ ...connect, port: rawPort, alpnProtocols: ["echo"] });
  const calls = callsFor(h3, raw, origin);
  try {
    await runCalls(calls[mode], WARMUP_CALL_COUNT);
    const clientStart = process.cpuUsage();
    const serverStartMs = processCpuMs(server.pid);
    await runCalls(calls[mode], callCount);
    const client = process.cpuUsage(clientStart);
    const serverUs = (processCpuMs(server.pid) - serverStartMs) * 1000 / callCount;
    return [serverUs, (client.user + client.system) / callCount];
  } finally {
    raw.close();
    h3.connection.close();
    // Closing its stdin stops the server process.
    server.stdin.close();
    await server.status;
  }
}

const results = new Map<Mode, { server: number[]; client: number[] }>();
for (let r = 0; r < roundCount; r++) {
  for (const mode of MODES) {
    const [serverUs, clientUs] = await round(mode);
    const entry = results.get(mode) ?? { server: [], client: [] };
    entry.server.push(serverUs);
    entry.client.push(clientUs);
    results.set(mode, entry);
  }
}
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0].toFixed(0)} median ${sorted[sorted.length >> 1].toFixed(0)}`;
};
for (const [mode, { server, client }] of results) {
  console.log(
    `${mode.padEnd(7)} server CPU us/call ${summary(server)} | client ${summary(client)}`,
  );
}
