/**
 * HTTP/1.1 RPC throughput on loopback with wrk (`-t1 -c32`), against bare `Deno.serve` answering
 * fixed bytes, each server in its own process:
 * - `system.echo` (binary Cap'n Proto, 1-byte payload) req/s vs bare: target >= 0.85x;
 * - unknown-method rejection (501 before the body is read) vs bare: target >= 0.90x, with 0
 *   pool allocations during the run (read from the service's /metrics).
 *
 * Fairness: every run posts the same framed request with the same wrk settings, and both bare
 * servers answer the very bytes `system.echo` answers (same length, `application/capnp`). The
 * issue's baseline reads no body; a second baseline reads the body (`Request.bytes()`) before
 * answering, since echo cannot skip its body: `echo / bare-read` is the cost of our own code.
 *
 * Two measurements run in one `deno bench`:
 * 1. At load time, alternating 5-second wrk runs (bare, bare-read, echo, bare, unknown; ROUNDS
 *    times), printed as req/s and median ratios (the noise between runs is about ±15%), and the
 *    servers' CPU time per request (from /proc), which the box's other load disturbs less.
 * 2. `Deno.bench` groups in process (no sockets): the same Request answered by bare code
 *    returning fixed bytes vs by the app, so Deno's summary prints the dispatch cost ratio.
 *
 * Set RPC_BENCH_ROUNDS=0 to skip the alternating runs.
 *
 * @module
 */

import { cpuTimeUs, median } from "./_proc.ts";
import { requestFrame } from "../tests/_frames.ts";
import { measureResponse, writeResponse } from "../rpc/envelope.ts";
import { SystemEchoParamsCodec, SystemEchoResultCodec } from "../schema/system_capnp.ts";

const ROUNDS = Number(Deno.env.get("RPC_BENCH_ROUNDS") ?? "3");
const DURATION_S = 5;

interface Server {
  readonly port: number;
  readonly child: Deno.ChildProcess;
}

async function startServer(
  mode: "bare" | "bare-read" | "service",
  dataDir: string,
): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      new URL("./_rpc_bench_server.ts", import.meta.url).pathname,
      mode,
      dataDir,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bench server ${mode} exited before listening`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { port: JSON.parse(text.split("\n")[0]).port, child };
}

/** A Lua string literal holding arbitrary bytes (decimal escapes). */
function luaBytes(bytes: Uint8Array): string {
  return '"' + Array.from(bytes, (b) => `\\${b}`).join("") + '"';
}

/** Writes the wrk Lua script posting `body` as application/capnp. */
async function writeScript(dir: string, name: string, body: Uint8Array) {
  const path = `${dir}/${name}.lua`;
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${luaBytes(body)}`,
    'wrk.headers["Content-Type"] = "application/capnp"',
  ];
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** One wrk run: req/s, non-2xx count, and the server's CPU µs per request. */
interface WrkRun {
  readonly rps: number;
  readonly non2xx: number;
  readonly cpuUsPerRequest: number;
}

/** Runs wrk against `server` and reads its report and the server's CPU time around it. */
async function wrk(server: Server, url: string, script: string, extra: string[]): Promise<WrkRun> {
  const cpuBeforeUs = cpuTimeUs(server.child.pid);
  const out = await new Deno.Command("wrk", {
    args: ["-t1", "-c32", ...extra, "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const cpuUs = cpuTimeUs(server.child.pid) - cpuBeforeUs;
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  return { rps, non2xx, cpuUsPerRequest: cpuUs / requests };
}

async function poolAllocTotal(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^pool_alloc_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

const dir = await Deno.makeTempDir({ prefix: "rpc-wrk-" });
const echoFrame = requestFrame("system.echo", SystemEchoParamsCodec, {
  payload: new Uint8Array([1]),
});
const unknownFrame = requestFrame("no.such.method", SystemEchoParamsCodec, {
  payload: new Uint8Array([1]),
});
const bare = await startServer("bare", dir);
const bareRead = await startServer("bare-read", dir);
const service = await startServer("service", dir);
const bareUrl = `http://127.0.0.1:${bare.port}/`;
const bareReadUrl = `http://127.0.0.1:${bareRead.port}/`;
const echoUrl = `http://127.0.0.1:${service.port}/rpc/system.echo`;
const unknownUrl = `http://127.0.0.1:${service.port}/rpc/no.such.method`;

if (ROUNDS > 0) {
  const timed = ["-d", `${DURATION_S}s`];
  const echoScript = await writeScript(dir, "echo", echoFrame);
  const unknownScript = await writeScript(dir, "unknown", unknownFrame);
  const runs = {
    bare: [] as WrkRun[],
    bareRead: [] as WrkRun[],
    echo: [] as WrkRun[],
    bareU: [] as WrkRun[],
    unknown: [] as WrkRun[],
  };
  let unknownAllocs = 0;
  for (let round = 0; round < ROUNDS; round++) {
    runs.bare.push(await wrk(bare, bareUrl, echoScript, timed));
    runs.bareRead.push(await wrk(bareRead, bareReadUrl, echoScript, timed));
    runs.echo.push(await wrk(service, echoUrl, echoScript, timed));
    runs.bareU.push(await wrk(bare, bareUrl, unknownScript, timed));
    const before = await poolAllocTotal(service.port);
    runs.unknown.push(await wrk(service, unknownUrl, unknownScript, timed));
    unknownAllocs += (await poolAllocTotal(service.port)) - before;
  }
  const rps = (xs: WrkRun[]) => xs.map((x) => x.rps);
  const ratio = (a: WrkRun[], b: WrkRun[], key: keyof WrkRun) =>
    median(a.map((x, i) => x[key] / b[i][key])).toFixed(2);
  const echoErrors = runs.echo.reduce((n, x) => n + x.non2xx, 0);
  const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(", ");
  const cpu = (xs: WrkRun[]) => median(xs.map((x) => x.cpuUsPerRequest)).toFixed(1);
  console.log(`\nwrk -t1 -c32 -d${DURATION_S}s, ${ROUNDS} alternating rounds (req/s):`);
  console.log(`  bare Deno.serve (before echo):     ${fmt(rps(runs.bare))}`);
  console.log(`  bare Deno.serve reading the body:  ${fmt(rps(runs.bareRead))}`);
  console.log(
    `  system.echo binary:                ${fmt(rps(runs.echo))}  (non-2xx: ${echoErrors})`,
  );
  console.log(`  bare Deno.serve (before unknown):  ${fmt(rps(runs.bareU))}`);
  console.log(`  unknown method -> 501:             ${fmt(rps(runs.unknown))}`);
  const echoRatio = ratio(runs.echo, runs.bare, "rps");
  const unknownRatio = ratio(runs.unknown, runs.bareU, "rps");
  console.log(`  echo / bare (median of rounds):    ${echoRatio}x (target >= 0.85x)`);
  console.log(`  echo / bare-read (median):         ${ratio(runs.echo, runs.bareRead, "rps")}x`);
  console.log(
    `  bare-read / bare (median):         ${
      ratio(runs.bareRead, runs.bare, "rps")
    }x (Deno's body read)`,
  );
  console.log(`  unknown / bare (median of rounds): ${unknownRatio}x (target >= 0.90x)`);
  // Server CPU per request: bare / service is the req/s ratio a CPU-bound server would reach.
  console.log(
    `  server CPU µs per request (median): bare ${cpu(runs.bare)}, bare-read ${
      cpu(runs.bareRead)
    }, echo ${cpu(runs.echo)}, bare ${cpu(runs.bareU)}, unknown ${cpu(runs.unknown)}`,
  );
  console.log(
    `  CPU per request, bare / echo: ${ratio(runs.bare, runs.echo, "cpuUsPerRequest")}x; ` +
      `bare-read / echo: ${ratio(runs.bareRead, runs.echo, "cpuUsPerRequest")}x; ` +
      `bare / unknown: ${ratio(runs.bareU, runs.unknown, "cpuUsPerRequest")}x`,
  );
  console.log(`  pool allocations during unknown-method runs: ${unknownAllocs} (target 0)\n`);
}

// In-process groups, so Deno's own summary prints ratios too: the same Request through bare
// code returning fixed bytes vs through the app (no sockets: dispatch cost alone).
const inProcess = await import("./_rpc_in_process.ts");
// The bare handler answers the bytes echo answers (the framed RpcResponse), like the bare servers.
const echoResult = {
  requestId: 1,
  codec: SystemEchoResultCodec,
  result: { payload: new Uint8Array([1]) },
};
const fixedBody = new Uint8Array(measureResponse(echoResult));
writeResponse(echoResult, fixedBody);
// The bare handler copies the request body once and answers fixed bytes (what a transport that
// reads a body and writes an answer does at least).
const scratch = new Uint8Array(4096);
const bareCall = async (body: Uint8Array) => {
  scratch.set(body);
  return await Promise.resolve(fixedBody.slice().length);
};
const CAPNP = "application/capnp";

Deno.bench({
  name: "bare handler (copy in, fixed bytes out)",
  group: "in-process echo",
  baseline: true,
  fn: async () => void await bareCall(echoFrame),
});
Deno.bench({
  name: "call core: system.echo (binary)",
  group: "in-process echo",
  fn: async () =>
    void await inProcess.callInProcess(inProcess.core, "system.echo", CAPNP, echoFrame),
});
Deno.bench({
  name: "bare handler (copy in, fixed bytes out)",
  group: "in-process unknown",
  baseline: true,
  fn: async () => void await bareCall(unknownFrame),
});
Deno.bench({
  name: "call core: unknown method -> 501",
  group: "in-process unknown",
  fn: async () =>
    void await inProcess.callInProcess(inProcess.core, "no.such.method", CAPNP, unknownFrame),
});

// The servers run until the bench process ends.
globalThis.addEventListener("unload", () => {
  for (const server of [bare, bareRead, service]) {
    try {
      server.child.kill();
    } catch {
      // Already gone.
    }
  }
  Deno.removeSync(dir, { recursive: true });
});
