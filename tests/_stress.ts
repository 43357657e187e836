/**
 * Helpers of the stress tests and the overload bench: a service child process (see
 * `_stress_service_child.ts`), its RSS from /proc, the pool's in-use count from `/metrics`, and a
 * JSON `system.echo` body of an exact size.
 *
 * @module
 */

import { encodeRequest } from "../client/envelope.ts";
import type { ChildOptions } from "./_stress_service_child.ts";

const CHILD_SCRIPT = new URL("./_stress_service_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A service running in a child process. */
export interface StressChild {
  readonly pid: number;
  /** `http://127.0.0.1:<plaintextPort>` */
  readonly plainUrl: string;
  /** TLS (TCP) and QUIC (UDP) port. */
  readonly port: number;
  readonly caPem: string;
  /** Bytes the pool maps (the plan's total). */
  readonly poolBytes: number;
  /** SIGTERM, wait for exit; returns the pool's in-use count the child printed at shutdown. */
  stop(): Promise<number>;
}

/** Reads the first line of a child's stdout; the reader stays open for later lines. */
async function readLine(reader: ReadableStreamDefaultReader<string>, buffer: { text: string }) {
  for (let i = 0; i < 10_000 && !buffer.text.includes("\n"); i++) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer.text += value;
  }
  const end = buffer.text.indexOf("\n");
  const line = buffer.text.slice(0, end);
  buffer.text = buffer.text.slice(end + 1);
  return line;
}

/** A child process that printed one JSON line when ready. */
export interface JsonChild {
  readonly pid: number;
  /** The parsed first line of its stdout. */
  readonly ready: Record<string, unknown>;
  /** SIGTERM, wait for exit; returns `inUse` from the JSON line the child printed at shutdown. */
  stop(): Promise<number>;
}

/**
 * Runs `deno run -A --unstable-net [denoFlags] script JSON(arg)` and waits for its first line.
 *
 * @example
 * ```ts
 * const child = await spawnJsonChild(scriptPath, {}, []);
 * console.log(child.ready.port);
 * await child.stop();
 * ```
 */
export async function spawnJsonChild(
  script: string,
  arg: unknown,
  denoFlags: readonly string[] = [],
): Promise<JsonChild> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      `--config=${CONFIG}`,
      ...denoFlags,
      script,
      JSON.stringify(arg),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drained until the child exits: its warnings must never meet a closed pipe.
  const stderr = new Response(process.stderr).text();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const buffer = { text: "" };
  const first = await readLine(reader, buffer);
  if (first === null) {
    await reader.cancel();
    await process.status;
    throw new Error(`child ${script} exited before listening: ${await stderr}`);
  }
  return {
    pid: process.pid,
    ready: JSON.parse(first),
    async stop() {
      process.kill("SIGTERM");
      const line = await readLine(reader, buffer);
      await reader.cancel();
      const status = await process.status;
      const errText = await stderr;
      if (line === null || !status.success) {
        throw new Error(`child ${script} failed at shutdown (${status.code}): ${errText}`);
      }
      return JSON.parse(line).inUse as number;
    },
  };
}

/**
 * Starts the real service in a child process and waits until it listens.
 *
 * @example
 * ```ts
 * const child = await startStressChild({ poolBytes: 64 << 20, dataDir });
 * await child.stop();
 * ```
 */
export async function startStressChild(
  options: ChildOptions,
  denoFlags: readonly string[] = [],
): Promise<StressChild> {
  const child = await spawnJsonChild(CHILD_SCRIPT, options, denoFlags);
  const ready = child.ready as {
    plaintextPort: number;
    port: number;
    caPath: string;
    poolBytes: number;
  };
  return {
    pid: child.pid,
    plainUrl: `http://127.0.0.1:${ready.plaintextPort}`,
    port: ready.port,
    caPem: await Deno.readTextFile(ready.caPath),
    poolBytes: ready.poolBytes,
    stop: () => child.stop(),
  };
}

/** A process's resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  if (match === null) throw new Error(`Cannot read VmRSS of ${pid}`);
  return Number(match[1]) * 1024;
}

/** The sum of `pool_blocks_in_use` over the classes, from the service's `/metrics`. */
export async function poolInUseFromMetrics(baseUrl: string): Promise<number> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("pool_blocks_in_use{")) total += Number(line.split(" ").pop());
  }
  return total;
}

/** A framed Cap'n Proto `system.echo` request of about `sizeBytes` (within 200 bytes below). */
export function echoCapnpBody(sizeBytes: number): Uint8Array<ArrayBuffer> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1024) {
    throw new RangeError(`Cannot build echo body: ${sizeBytes} is below 1024 bytes`);
  }
  return encodeRequest("system.echo", 1, { payload: new Uint8Array(sizeBytes - 200) });
}

/** A `fetch`-shaped function: the global one, one bound to a `Deno.HttpClient`, an HTTP/3 client's. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** What `runOverload` drives: a URL to POST the body to and the process to watch. */
export interface OverloadTarget {
  /** Base URL (`/healthz` is polled under it). */
  readonly baseUrl: string;
  /** Path the body is POSTed to, e.g. `/rpc/system.echo`. */
  readonly path: string;
  readonly pid: number;
  readonly body: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
  readonly concurrency: number;
  readonly seconds: number;
  /** Headers every upload carries besides Content-Type (e.g. Authorization); default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The fetch of uploader `index` (0..concurrency-1) and of the `/healthz` poller (`index` =
   * concurrency), e.g. one connection each over TLS or HTTP/3; default the global `fetch`.
   */
  readonly fetchOf?: (index: number) => FetchLike;
}

/** What an overload run saw. */
export interface OverloadResult {
  /** HTTP status -> count. */
  readonly statuses: Map<number, number>;
  /** 503s and 429s without a Retry-After header. */
  retryAfterMissing: number;
  /** Transport errors (first 20). */
  readonly errors: string[];
  healthOk: number;
  /** `/healthz` failures: a non-200, a timeout or a transport error (first 20). */
  readonly healthFailures: string[];
  rssIdleBytes: number;
  rssPeakBytes: number;
}

/** How long one `/healthz` may take under load before it counts as not answering. */
const HEALTH_TIMEOUT_MS = 5_000;

/** One uploader: POSTs the body again and again until `untilMs`. */
async function uploader(
  target: OverloadTarget,
  index: number,
  untilMs: number,
  result: OverloadResult,
) {
  const send = target.fetchOf?.(index) ?? fetch;
  const headers = { ...target.headers, "content-type": target.contentType };
  for (let i = 0; i < 1_000_000 && Date.now() < untilMs; i++) {
    try {
      const response = await send(`${target.baseUrl}${target.path}`, {
        method: "POST",
        headers,
        body: target.body,
      });
      await response.arrayBuffer();
      result.statuses.set(response.status, (result.statuses.get(response.status) ?? 0) + 1);
      const refused = response.status === 503 || response.status === 429;
      if (refused && response.headers.get("retry-after") === null) {
        result.retryAfterMissing++;
      }
    } catch (error) {
      if (result.errors.length < 20) result.errors.push(String(error));
    }
  }
}

/** Samples RSS and polls `/healthz` every 100 ms until `untilMs`. */
async function watcher(target: OverloadTarget, untilMs: number, result: OverloadResult) {
  const send = target.fetchOf?.(target.concurrency) ?? fetch;
  for (let i = 0; i < 100_000 && Date.now() < untilMs; i++) {
    result.rssPeakBytes = Math.max(result.rssPeakBytes, rssBytes(target.pid));
    try {
      const response = await send(`${target.baseUrl}/healthz`, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status === 200) result.healthOk++;
      else if (result.healthFailures.length < 20) {
        result.healthFailures.push(`${response.status} ${text}`);
      }
    } catch (error) {
      if (result.healthFailures.length < 20) result.healthFailures.push(String(error));
    }
    await sleep(100);
  }
}

/**
 * Runs `concurrency` uploaders against `target` for `seconds`, polling `/healthz` and the
 * process's RSS meanwhile.
 *
 * @example
 * ```ts
 * const result = await runOverload({ baseUrl, path: "/rpc/system.echo", pid, body,
 *   contentType: "application/capnp", concurrency: 20, seconds: 10 });
 * ```
 */
export async function runOverload(target: OverloadTarget): Promise<OverloadResult> {
  const rssIdleBytes = rssBytes(target.pid);
  const result: OverloadResult = {
    statuses: new Map(),
    retryAfterMissing: 0,
    errors: [],
    healthOk: 0,
    healthFailures: [],
    rssIdleBytes,
    rssPeakBytes: rssIdleBytes,
  };
  const untilMs = Date.now() + target.seconds * 1000;
  const uploaders = Array.from(
    { length: target.concurrency },
    (_, index) => uploader(target, index, untilMs, result),
  );
  await Promise.all([...uploaders, watcher(target, untilMs, result)]);
  result.rssPeakBytes = Math.max(result.rssPeakBytes, rssBytes(target.pid));
  return result;
}

/** Blocks of the smallest pool class that holds `sizeBytes`, from the service's `system.pool`. */
export async function classBlocksFor(baseUrl: string, sizeBytes: number): Promise<number> {
  const response = await fetch(`${baseUrl}/rpc/system.pool`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const pool = await response.json() as {
    classes: { blockSizeBytes: number; blocksTotal: number }[];
  };
  const holder = pool.classes.find((c) => c.blockSizeBytes >= sizeBytes);
  if (holder === undefined) throw new Error(`no class holds ${sizeBytes} bytes`);
  return holder.blocksTotal;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
