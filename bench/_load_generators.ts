/**
 * The load generators of the as-shipped bench (bench/shipped_bench.ts), each run as its own
 * process and parsed into one shape: wrk (HTTP/1.1, plaintext or TLS; bench/call_load.lua),
 * h2load (HTTP/2 over TLS, Debian nghttp2-client) and the Deno load client
 * (bench/_deno_load_client.ts: HTTP/3, the raw QUIC echo, updates over h2). Every run is bounded
 * in time (and the Deno client in count too).
 *
 * @module
 */

import type { LoadSpec } from "./_deno_load_client.ts";

const LUA_SCRIPT = new URL("./call_load.lua", import.meta.url).pathname;
const DENO_CLIENT = new URL("./_deno_load_client.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

/** wrk's settings: one thread, 32 connections (one call in flight on each). */
export const WRK_FLAGS = ["-t1", "-c32"] as const;
/** h2load's settings: one thread, 4 connections x 8 concurrent streams = 32 in flight. */
export const H2LOAD_FLAGS = ["-t1", "-c4", "-m8"] as const;

/** What one load run gave. */
export interface LoadRun {
  readonly requests: number;
  readonly rps: number;
  /** The answers by status (or status class, for h2load), e.g. `200: 51234` or `non-2xx: 0`. */
  readonly answers: string;
  /** Answers that were not the expected status, and transport errors. */
  readonly unexpected: number;
}

/** What the caller passes to every generator. */
export interface LoadCall {
  readonly url: string;
  readonly token: string | null;
  readonly contentType: string;
  /** A file every call posts, or null for the update cycle. */
  readonly bodyPath: string | null;
  readonly update: { readonly offset: number; readonly count: number } | null;
  readonly seconds: number;
  /** The status every answer should have. */
  readonly status: number;
  /** Called when the measured part starts (the server's CPU and log are sampled then). */
  readonly onMeasuring: () => void;
}

async function output(command: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(command, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${command} failed: ${text}\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

function numberIn(text: string, pattern: RegExp, fallback = NaN): number {
  const match = pattern.exec(text);
  return match === null ? fallback : Number(match[1]);
}

/**
 * Runs `wrk -t1 -c32 -dNs -s bench/call_load.lua URL` with the call's body and token.
 *
 * @example
 * ```ts
 * const run = await runWrk({ url, token, contentType: "application/capnp", bodyPath,
 *   update: null, seconds: 3, status: 200, onMeasuring: () => {} });
 * ```
 */
export async function runWrk(call: LoadCall): Promise<LoadRun> {
  const env: Record<string, string> = {
    WN_TOKEN: call.token ?? "",
    WN_CONTENT_TYPE: call.contentType,
    WN_BODY_FILE: call.bodyPath ?? "",
    WN_UPDATE_OFFSET: String(call.update?.offset ?? 0),
    WN_UPDATE_COUNT: String(call.update?.count ?? 1000),
  };
  call.onMeasuring();
  const text = await output(
    "wrk",
    [...WRK_FLAGS, `-d${call.seconds}s`, "-s", LUA_SCRIPT, call.url],
    env,
  );
  const requests = numberIn(text, /(\d+) requests in/);
  const non2xx = numberIn(text, /Non-2xx or 3xx responses:\s+(\d+)/, 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((n, x) => n + Number(x), 0);
  const expected2xx = call.status >= 200 && call.status < 300;
  return {
    requests,
    rps: numberIn(text, /Requests\/sec:\s+([\d.]+)/),
    answers: `non-2xx: ${non2xx}` + (socketErrors > 0 ? `, socket errors: ${socketErrors}` : ""),
    unexpected: (expected2xx ? non2xx : requests - non2xx) + socketErrors,
  };
}

/**
 * Runs `h2load -t1 -c4 -m8 -D N -d BODY -H ... URL` (h2 over TLS; h2load verifies no
 * certificate).
 *
 * @example
 * ```ts
 * const run = await runH2load({ url, token, contentType: "application/capnp", bodyPath,
 *   update: null, seconds: 3, status: 200, onMeasuring: () => {} });
 * ```
 */
export async function runH2load(call: LoadCall): Promise<LoadRun> {
  if (call.bodyPath === null) throw new TypeError("Cannot run h2load: it posts one fixed body");
  const headers = ["-H", `content-type: ${call.contentType}`];
  if (call.token !== null) headers.push("-H", `authorization: Bearer ${call.token}`);
  call.onMeasuring();
  const text = await output("h2load", [
    ...H2LOAD_FLAGS,
    "-D",
    String(call.seconds),
    "-d",
    call.bodyPath,
    ...headers,
    call.url,
  ]);
  const done = numberIn(text, /requests: \d+ total, \d+ started, (\d+) done/);
  const classes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const counts = classes === null ? [NaN, NaN, NaN, NaN] : classes.slice(1).map(Number);
  const expectedClass = Math.floor(call.status / 100) - 2;
  const answers = ["2xx", "3xx", "4xx", "5xx"].map((name, i) => `${name}: ${counts[i]}`)
    .filter((_, i) => counts[i] !== 0 || i === expectedClass);
  return {
    requests: done,
    rps: numberIn(text, /finished in [\d.]+\w+, ([\d.]+) req\/s/),
    answers: answers.join(", "),
    // The classes also count the answers in flight at the deadline (done does not); a stream
    // that failed without a status is done but in no class: unexpected too.
    unexpected: counts.reduce((n, c, i) => i === expectedClass ? n : n + c, 0) +
      Math.max(0, done - counts.reduce((n, c) => n + c, 0)),
  };
}

/** Connections and calls in flight on each of the Deno load client's loads (32 in flight). */
export const DENO_CLIENT_SHAPE = {
  h3: { connections: 2, inFlight: 16 },
  quic: { connections: 2, inFlight: 16 },
  h2: { connections: 4, inFlight: 8 },
} as const;

/** Seconds the Deno load client runs before its measured part (its own JIT warm-up). */
export const DENO_CLIENT_WARMUP_SECONDS = 0.5;

/**
 * Runs bench/_deno_load_client.ts for `transport` against `port`.
 *
 * @example
 * ```ts
 * const run = await runDenoClient("h3", { port, caPath, path: "/rpc/system.echo" }, call);
 * ```
 */
export async function runDenoClient(
  transport: LoadSpec["transport"],
  target: { readonly port: number; readonly caPath: string; readonly path: string },
  call: Omit<LoadCall, "url">,
  warmupSeconds = DENO_CLIENT_WARMUP_SECONDS,
): Promise<LoadRun> {
  const spec: LoadSpec = {
    transport,
    ...target,
    ...DENO_CLIENT_SHAPE[transport],
    seconds: call.seconds,
    warmupSeconds,
    contentType: call.contentType,
    token: call.token,
    bodyPath: call.bodyPath,
    update: call.update,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      `--config=${ROOT}deno.json`,
      DENO_CLIENT,
      JSON.stringify(spec),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let measuring = false;
  // Bounded: the child ends after its bounded load (its stdout then ends).
  for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) {
    text += chunk.value;
    if (!measuring && text.includes("warm\n")) {
      measuring = true;
      call.onMeasuring();
    }
  }
  const status = await child.status;
  const last = text.trim().split("\n").pop() ?? "";
  if (!status.success || !measuring || !last.startsWith("{")) {
    throw new Error(`Deno load client (${transport}) failed: ${text}\n${await stderr}`);
  }
  const outcome = JSON.parse(last) as {
    requests: number;
    statuses: Record<string, number>;
    errors: number;
    errorSamples: string[];
    elapsedMs: number;
  };
  const parts = Object.entries(outcome.statuses).map(([s, n]) => `${s}: ${n}`);
  if (outcome.errors > 0) parts.push(`errors: ${outcome.errors} (${outcome.errorSamples[0]})`);
  return {
    requests: outcome.requests,
    rps: outcome.requests / (outcome.elapsedMs / 1000),
    answers: parts.join(", "),
    unexpected: outcome.requests - (outcome.statuses[call.status] ?? 0) + outcome.errors,
  };
}
