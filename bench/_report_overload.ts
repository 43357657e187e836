/**
 * The overload half of the bench report, on every transport: 64 concurrent uploads of 700 KB
 * binary `system.echo` frames for BENCH_OVERLOAD_SECONDS (default 18) against the service as
 * shipped (bench/_shipped_service.ts: the start task's flags, auth on, the request log to a
 * file) on a 64 MiB pool (`--pool-bytes 64MiB`; 700 KB lands in the 1 MiB class, whose 5
 * blocks 64 uploads overrun about 13 times), one fresh service per transport — plaintext h1,
 * TLS h1, TLS h2 (Deno's fetch, one connection per uploader) and HTTP/3 (the project's client,
 * one QUIC connection per uploader). The load and the RSS sampling are tests/_stress.ts's
 * `runOverload` (RSS from /proc every 100 ms between `/healthz` polls). Reported: the answers by
 * status (only 200, and 503 or 429 with Retry-After, are acceptable), peak RSS minus the pool's
 * bytes against issue 13/14's bound (96 MiB), and the pool's in-use count after the load (it
 * must return to 0). The same plaintext load runs against two comparison processes: the
 * runtime's floor (`_bare_listen_server.ts`, a bare `Deno.listen` server with shared buffers:
 * what Deno itself holds under this load) and a plain Hono app that buffers bodies with
 * `arrayBuffer()` (the comparison of old).
 *
 * @module
 */

import { H3Client } from "../http3/client.ts";
import {
  echoCapnpBody,
  type FetchLike,
  type OverloadResult,
  poolInUseFromMetrics,
  runOverload,
  sleep,
  spawnJsonChild,
} from "../tests/_stress.ts";
import { type TransportName, TRANSPORTS } from "./_shipped_loads.ts";
import {
  shippedCommandLine,
  type ShippedService,
  startShippedService,
} from "./_shipped_service.ts";

const POOL_FLAG = "64MiB";
const UPLOAD_BYTES = 700_000;
const CONCURRENCY = 64;
const RSS_OVER_POOL_BYTES_MAX = 96 * 1024 * 1024;
const MIB = 1024 * 1024;
const POOL_DRAIN_WAIT_MS = 10_000;
const HONO_SCRIPT = new URL("./_hono_buffering_server.ts", import.meta.url).pathname;
const BARE_SCRIPT = new URL("./_bare_listen_server.ts", import.meta.url).pathname;

/** One measured process. */
interface Row {
  readonly label: string;
  readonly result: OverloadResult;
  /** The pool's bytes (0 for the Hono app, which has none). */
  readonly poolBytes: number;
  /** Pool blocks in use once the load ended (null: no pool). */
  readonly inUseAfter: number | null;
}

function seconds(): number {
  const value = Number(Deno.env.get("BENCH_OVERLOAD_SECONDS") ?? "18");
  if (!Number.isFinite(value) || value <= 0 || value > 600) {
    throw new RangeError(`Invalid BENCH_OVERLOAD_SECONDS: ${value} is not in (0, 600]`);
  }
  return value;
}

/** Per transport: the base URL, the client that reaches it, and how it is named. */
const CLIENTS: Record<TransportName, { label: string; scheme: "plain" | "tls" | "h3" }> = {
  h1: { label: "plaintext h1 (Deno fetch)", scheme: "plain" },
  "tls-h1": { label: "TLS h1 (Deno fetch, one connection per uploader)", scheme: "tls" },
  h2: { label: "TLS h2 (Deno fetch, one connection per uploader)", scheme: "tls" },
  h3: { label: "h3 (H3Client, one QUIC connection per uploader)", scheme: "h3" },
};

/** One fetch per uploader (and one for the `/healthz` poller), and how to close them. */
async function clientsFor(transport: TransportName, svc: ShippedService) {
  const caCerts = [await Deno.readTextFile(svc.caPath)];
  const count = CONCURRENCY + 1;
  if (transport === "h1") return { fetches: [] as FetchLike[], close: () => Promise.resolve() };
  if (transport === "h3") {
    const clients = await Promise.all(
      Array.from({ length: count }, () =>
        H3Client.connect({
          hostname: "127.0.0.1",
          port: svc.port,
          caCerts,
          serverName: "localhost",
        })),
    );
    return {
      fetches: clients.map((c): FetchLike => (url, init) => c.fetch(url, init)),
      close: async () => void await Promise.all(clients.map((c) => c.close().catch(() => {}))),
    };
  }
  const h2 = transport === "h2";
  const clients = Array.from(
    { length: count },
    () => Deno.createHttpClient({ caCerts, http1: !h2, http2: h2 }),
  );
  return {
    fetches: clients.map((client): FetchLike => (url, init) => fetch(url, { ...init, client })),
    close: () => Promise.resolve(clients.forEach((c) => c.close())),
  };
}

/** Polls `/metrics` until the pool's in-use count is 0 (or 10 s pass); the last count. */
async function inUseAfterDrain(plainUrl: string): Promise<number> {
  const untilMs = Date.now() + POOL_DRAIN_WAIT_MS;
  let inUse = await poolInUseFromMetrics(plainUrl);
  while (inUse !== 0 && Date.now() < untilMs) {
    await sleep(100);
    inUse = await poolInUseFromMetrics(plainUrl);
  }
  return inUse;
}

/** The load against a fresh service over `transport`. */
async function measureService(transport: TransportName): Promise<Row> {
  const svc = await startShippedService({ poolBytes: POOL_FLAG, seedCount: 0 });
  try {
    const clients = await clientsFor(transport, svc);
    try {
      const scheme = CLIENTS[transport].scheme;
      const baseUrl = scheme === "plain"
        ? svc.plainUrl
        : `https://${scheme === "h3" ? "localhost" : "127.0.0.1"}:${svc.port}`;
      const result = await runOverload({
        baseUrl,
        path: "/rpc/system.echo",
        pid: svc.pid,
        body: echoCapnpBody(UPLOAD_BYTES),
        contentType: "application/capnp",
        concurrency: CONCURRENCY,
        seconds: seconds(),
        headers: { authorization: `Bearer ${svc.token}` },
        fetchOf: clients.fetches.length === 0 ? undefined : (index) => clients.fetches[index],
      });
      const inUseAfter = await inUseAfterDrain(svc.plainUrl);
      return { label: CLIENTS[transport].label, result, poolBytes: svc.poolBytes, inUseAfter };
    } finally {
      await clients.close();
    }
  } finally {
    await svc.stop();
  }
}

/** The same plaintext load against a comparison process (no pool) run from `script`. */
async function measureComparison(script: string, label: string): Promise<Row> {
  const child = await spawnJsonChild(script, {});
  try {
    const result = await runOverload({
      baseUrl: `http://127.0.0.1:${child.ready.port}`,
      path: "/rpc/system.echo",
      pid: child.pid,
      body: echoCapnpBody(UPLOAD_BYTES),
      contentType: "application/capnp",
      concurrency: CONCURRENCY,
      seconds: seconds(),
    });
    return { label, result, poolBytes: 0, inUseAfter: null };
  } finally {
    await child.stop();
  }
}

/** The answers by status, with the unacceptable ones marked. */
function statusText(row: Row): string {
  const parts = [...row.result.statuses].sort((a, b) => a[0] - b[0]).map(([status, n]) => {
    const acceptable = status === 200 || status === 503 || status === 429;
    return acceptable ? `${status}: ${n}` : `**${status}: ${n}**`;
  });
  if (row.result.errors.length > 0) {
    // runOverload keeps the first 20 errors only.
    const count = row.result.errors.length;
    parts.push(
      `**errors: ${count}${count >= 20 ? "+" : ""}** (${row.result.errors[0].slice(0, 80)})`,
    );
  }
  if (row.result.retryAfterMissing > 0) {
    parts.push(`**${row.result.retryAfterMissing} refusals without Retry-After**`);
  }
  return parts.join(", ");
}

/** Whether a row's answers are all acceptable (200, or 503/429 with Retry-After; no errors). */
function answersAcceptable(row: Row): boolean {
  const statuses = [...row.result.statuses.keys()];
  return statuses.every((s) => s === 200 || s === 503 || s === 429) &&
    row.result.errors.length === 0 && row.result.retryAfterMissing === 0;
}

function rowLine(row: Row): string {
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
  const over = row.result.rssPeakBytes - row.poolBytes;
  const bound = row.inUseAfter === null
    ? "(no pool)"
    : `${mib(over)} (${over <= RSS_OVER_POOL_BYTES_MAX ? "met" : "**not met**"})`;
  const health = `${row.result.healthOk} ok` +
    (row.result.healthFailures.length > 0
      ? `, **${row.result.healthFailures.length} failed**`
      : "");
  const growth = row.result.rssPeakBytes - row.result.rssIdleBytes;
  return `| ${row.label} | ${statusText(row)} | ${health} | ${mib(row.result.rssIdleBytes)} | ` +
    `${mib(row.result.rssPeakBytes)} | ${mib(growth)} | ${bound} | ${row.inUseAfter ?? "-"} |`;
}

/**
 * Measures every transport and the Hono app, and renders the markdown section.
 *
 * @example
 * ```ts
 * console.log(await buildOverloadSection());
 * ```
 */
export async function buildOverloadSection(): Promise<string> {
  const rows: Row[] = [];
  for (const transport of TRANSPORTS) rows.push(await measureService(transport));
  const bare = await measureComparison(
    BARE_SCRIPT,
    "runtime floor: bare `Deno.listen` server, shared buffers, plaintext h1",
  );
  const hono = await measureComparison(
    HONO_SCRIPT,
    "plain Hono app, `arrayBuffer()`, plaintext h1",
  );
  const plain = rows[0];
  const ratio = hono.result.rssPeakBytes / plain.result.rssPeakBytes;
  const lines = [
    "### RSS under overload, on every transport",
    "",
    `${CONCURRENCY} concurrent uploads of ${
      UPLOAD_BYTES / 1000
    } KB binary \`system.echo\` frames ` +
    `for ${seconds()} s (BENCH_OVERLOAD_SECONDS) per process, each transport against a fresh ` +
    `service: \`${shippedCommandLine({ poolBytes: POOL_FLAG, seedCount: 0 })}\` (auth on: every ` +
    "upload carries the admin token; the request log on, to a file). A 700 KB frame takes a block " +
    "of the 1 MiB class, which has 5 on this pool. RSS from /proc/<pid>/status about every 100 ms " +
    "(between `/healthz` polls over the same transport); the idle RSS already holds the whole " +
    "pool (mapped and prefaulted). Acceptable answers: 200, and 503 or 429 with Retry-After " +
    "(others in bold). Bound (issues 13 and 14): peak RSS - pool bytes <= 96 MiB; the pool's " +
    "in-use count must be back to 0 after the load (`/metrics`).",
    "",
    "| transport (client) | answers | `/healthz` | idle RSS | peak RSS | peak - idle | peak - pool (<= 96 MiB) | pool blocks in use after |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map(rowLine),
    rowLine(bare),
    rowLine(hono),
    "",
    "The runtime floor is `bench/_bare_listen_server.ts`: a Deno server that reads every body " +
    "into one process-wide buffer and answers as many bytes from another, with no pool and no " +
    "framework, so its growth (peak - idle) is what Deno itself (sockets, ops, V8) holds under " +
    "this load; the service's growth can approach it but not go below it. " +
    `The plain Hono app's peak RSS / the service's over plaintext h1: **${ratio.toFixed(2)}x**. ` +
    "On h3 an admitted upload shares the QUIC path with every refused one (which still sends " +
    "what fits in quinn's default stream window before the refusal reaches it), so few complete: " +
    'docs/reliability.md, "HTTP/3: a refused upload still costs its bytes". ' +
    `Unacceptable answers on: ${
      rows.filter((r) => !answersAcceptable(r)).map((r) => r.label).join("; ") || "none"
    }.`,
    "",
  ];
  return lines.join("\n");
}
