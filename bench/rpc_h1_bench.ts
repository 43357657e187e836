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
 *    times), printed as req/s and median ratios (the noise between runs is about ±15%).
 * 2. `Deno.bench` groups in process (no sockets): the same Request answered by bare code
 *    returning fixed bytes vs by the app, so Deno's summary prints the dispatch cost ratio.
 *
 * Set RPC_BENCH_ROUNDS=0 to skip the alternating runs.
 *
 * @module
 */

import { requestFrame } from "../tests/_frames.ts";
import { measureResponse, writeResponse } from "../capnp/mod.ts";
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

/** Runs wrk and returns req/s (and non-2xx count) from its report. */
async function wrk(
  url: string,
  script: string,
  extra: string[],
): Promise<{ rps: number; non2xx: number }> {
  const out = await new Deno.Command("wrk", {
    args: ["-t1", "-c32", ...extra, "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  return { rps, non2xx };
}

async function poolAllocTotal(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^pool_alloc_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
  const rows = {
    bare: [] as number[],
    bareRead: [] as number[],
    echo: [] as number[],
    bareU: [] as number[],
    unknown: [] as number[],
  };
  let unknownAllocs = 0;
  let echoErrors = 0;
  for (let round = 0; round < ROUNDS; round++) {
    rows.bare.push((await wrk(bareUrl, echoScript, timed)).rps);
    rows.bareRead.push((await wrk(bareReadUrl, echoScript, timed)).rps);
    const echo = await wrk(echoUrl, echoScript, timed);
    rows.echo.push(echo.rps);
    echoErrors += echo.non2xx;
    rows.bareU.push((await wrk(bareUrl, unknownScript, timed)).rps);
    const before = await poolAllocTotal(service.port);
    rows.unknown.push((await wrk(unknownUrl, unknownScript, timed)).rps);
    unknownAllocs += (await poolAllocTotal(service.port)) - before;
  }
  const echoRatio = median(rows.echo.map((v, i) => v / rows.bare[i]));
  const echoReadRatio = median(rows.echo.map((v, i) => v / rows.bareRead[i]));
  const readRatio = median(rows.bareRead.map((v, i) => v / rows.bare[i]));
  const unknownRatio = median(rows.unknown.map((v, i) => v / rows.bareU[i]));
  const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(", ");
  console.log(`\nwrk -t1 -c32 -d${DURATION_S}s, ${ROUNDS} alternating rounds (req/s):`);
  console.log(`  bare Deno.serve (before echo):     ${fmt(rows.bare)}`);
  console.log(`  bare Deno.serve reading the body:  ${fmt(rows.bareRead)}`);
  console.log(`  system.echo binary:                ${fmt(rows.echo)}  (non-2xx: ${echoErrors})`);
  console.log(`  bare Deno.serve (before unknown):  ${fmt(rows.bareU)}`);
  console.log(`  unknown method -> 501:             ${fmt(rows.unknown)}`);
  console.log(`  echo / bare (median of rounds):    ${echoRatio.toFixed(2)}x (target >= 0.85x)`);
  console.log(`  echo / bare-read (median):         ${echoReadRatio.toFixed(2)}x`);
  console.log(`  bare-read / bare (median):         ${readRatio.toFixed(2)}x (Deno's body read)`);
  console.log(`  unknown / bare (median of rounds): ${unknownRatio.toFixed(2)}x (target >= 0.90x)`);
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
const bareInit = { headers: { "content-type": "application/capnp" } };
const bareFetch = (_request: Request) => new Response(fixedBody.slice(), bareInit);
const makeEcho = () => inProcess.capnpRequest("system.echo", echoFrame);
const makeUnknown = () => inProcess.capnpRequest("no.such.method", unknownFrame);

Deno.bench({
  name: "bare handler (fixed bytes)",
  group: "in-process echo",
  baseline: true,
  fn: async () => void await (await bareFetch(makeEcho())).arrayBuffer(),
});
Deno.bench({
  name: "app: system.echo (binary)",
  group: "in-process echo",
  fn: async () => void await (await inProcess.app.fetch(makeEcho())).arrayBuffer(),
});
Deno.bench({
  name: "bare handler (fixed bytes)",
  group: "in-process unknown",
  baseline: true,
  fn: async () => void await (await bareFetch(makeUnknown())).arrayBuffer(),
});
Deno.bench({
  name: "app: unknown method -> 501",
  group: "in-process unknown",
  fn: async () => void await (await inProcess.app.fetch(makeUnknown())).arrayBuffer(),
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
