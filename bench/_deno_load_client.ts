/**
 * The load generator of the as-shipped bench where wrk and h2load cannot serve (bench/
 * shipped_bench.ts): HTTP/3 through the project's client (http3/client.ts), the raw QUIC echo
 * baseline with the same Deno QUIC stack, and `worknode.update` over h2 through Deno's `fetch`
 * (h2load posts one fixed body, and an update needs the worknode's current version). It runs in a
 * process of its own, like wrk, so the harness's isolate never competes with it.
 *
 * Usage: `deno run -A --unstable-net bench/_deno_load_client.ts '<json LoadSpec>'`. It runs the
 * calls for `warmupSeconds` (not counted), prints `warm`, runs them for `seconds` (bounded by
 * count too), and prints one JSON line {@link LoadOutcome}.
 *
 * @module
 */

import { UpdateBodies } from "./_call_rows.ts";
import { H3Client } from "../http3/client.ts";

/** What to load (JSON in argv[0]). */
export interface LoadSpec {
  /** `h3`: HTTP/3 (H3Client); `h2`: Deno fetch over h2; `quic`: raw QUIC stream echo. */
  readonly transport: "h3" | "h2" | "quic";
  readonly port: number;
  readonly caPath: string;
  readonly connections: number;
  /** Calls in flight on each connection. */
  readonly inFlight: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly path: string;
  readonly contentType: string;
  readonly token: string | null;
  /** A file whose bytes every call posts, or null for updates. */
  readonly bodyPath: string | null;
  /** The worknodes updates cycle through (when `bodyPath` is null). */
  readonly update: { readonly offset: number; readonly count: number } | null;
}

/** What the measured part saw. */
export interface LoadOutcome {
  readonly requests: number;
  /** HTTP status (0: a raw echo of the wrong length) -> count. */
  readonly statuses: Record<string, number>;
  readonly errors: number;
  /** The first few errors' messages. */
  readonly errorSamples: string[];
  readonly elapsedMs: number;
}

/** Bounds every load in count as well as time. */
const REQUESTS_MAX = 10_000_000;
const CONNECTIONS_MAX = 64;
const CHUNKS_MAX = 1024;

type Call = (body: Uint8Array<ArrayBuffer> | string) => Promise<number>;

async function rawEcho(
  conn: Deno.QuicConn,
  body: Uint8Array<ArrayBuffer> | string,
): Promise<number> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const stream = await conn.createBidirectionalStream({ waitUntilAvailable: true });
  const writer = stream.writable.getWriter();
  await writer.write(bytes);
  await writer.close();
  const reader = stream.readable.getReader({ mode: "byob" });
  let total = 0;
  for (let i = 0; i < CHUNKS_MAX; i++) {
    const { done, value } = await reader.read(new Uint8Array(4096));
    if (done) break;
    total += value.length;
  }
  return total === bytes.length ? 200 : 0;
}

/** One call function per connection, and how to close them all. */
async function connect(spec: LoadSpec): Promise<{ calls: Call[]; close: () => Promise<void> }> {
  const caCerts = [await Deno.readTextFile(spec.caPath)];
  const headers: Record<string, string> = { "content-type": spec.contentType };
  if (spec.token !== null) headers.authorization = `Bearer ${spec.token}`;
  const indexes = Array.from({ length: spec.connections }, (_, i) => i);
  if (spec.transport === "quic") {
    const conns = await Promise.all(indexes.map(() =>
      Deno.connectQuic({
        hostname: "127.0.0.1",
        port: spec.port,
        serverName: "localhost",
        caCerts,
        alpnProtocols: ["echo"],
      })
    ));
    return {
      calls: conns.map((conn) => (body) => rawEcho(conn, body)),
      close: () => Promise.resolve(conns.forEach((conn) => conn.close())),
    };
  }
  if (spec.transport === "h3") {
    const url = `https://localhost:${spec.port}${spec.path}`;
    const clients = await Promise.all(
      indexes.map(() =>
        H3Client.connect({
          hostname: "127.0.0.1",
          port: spec.port,
          caCerts,
          serverName: "localhost",
        })
      ),
    );
    return {
      calls: clients.map((client) => async (body) => {
        const response = await client.fetch(url, { method: "POST", headers, body });
        await response.arrayBuffer();
        return response.status;
      }),
      close: async () => void await Promise.all(clients.map((client) => client.close())),
    };
  }
  const url = `https://127.0.0.1:${spec.port}${spec.path}`;
  const clients = indexes.map(() => Deno.createHttpClient({ caCerts, http1: false, http2: true }));
  return {
    calls: clients.map((client) => async (body) => {
      const response = await fetch(url, { method: "POST", headers, body, client });
      await response.arrayBuffer();
      return response.status;
    }),
    close: () => Promise.resolve(clients.forEach((client) => client.close())),
  };
}

/** Runs every worker until `untilMs`; counts answers by status into `outcome`. */
async function drive(
  spec: LoadSpec,
  calls: Call[],
  nextBody: () => Uint8Array<ArrayBuffer> | string,
  untilMs: number,
) {
  const outcome = { requests: 0, statuses: {} as Record<string, number>, errors: 0 };
  const samples: string[] = [];
  const worker = async (call: Call) => {
    while (Date.now() < untilMs && outcome.requests < REQUESTS_MAX) {
      try {
        const status = await call(nextBody());
        outcome.requests++;
        outcome.statuses[status] = (outcome.statuses[status] ?? 0) + 1;
      } catch (error) {
        outcome.errors++;
        if (samples.length < 5) samples.push(String(error).slice(0, 200));
      }
    }
  };
  const workers = calls.flatMap((call) => Array.from({ length: spec.inFlight }, () => call));
  await Promise.all(workers.map(worker));
  return { ...outcome, errorSamples: samples };
}

async function main(): Promise<void> {
  const spec = JSON.parse(Deno.args[0]) as LoadSpec;
  if (!(spec.connections >= 1 && spec.connections <= CONNECTIONS_MAX)) {
    throw new RangeError(`Cannot load: ${spec.connections} connections is not 1..64`);
  }
  if (!(spec.seconds > 0 && spec.seconds <= 600 && spec.warmupSeconds >= 0)) {
    throw new RangeError(`Cannot load: ${spec.seconds} s is not in (0, 600]`);
  }
  const fixed = spec.bodyPath === null ? null : await Deno.readFile(spec.bodyPath);
  const updates = spec.update === null
    ? null
    : new UpdateBodies(spec.update.offset, spec.update.count);
  if (fixed === null && updates === null) throw new TypeError("Cannot load: no body and no update");
  const nextBody = () => fixed ?? updates!.next();
  const { calls, close } = await connect(spec);
  if (spec.warmupSeconds > 0) {
    await drive(spec, calls, nextBody, Date.now() + spec.warmupSeconds * 1000);
  }
  console.log("warm");
  const startedMs = performance.now();
  const measured = await drive(spec, calls, nextBody, Date.now() + spec.seconds * 1000);
  const outcome: LoadOutcome = { ...measured, elapsedMs: performance.now() - startedMs };
  await close();
  console.log(JSON.stringify(outcome));
}

if (import.meta.main) {
  await main();
  // The QUIC endpoint of a closed client may keep the event loop alive.
  Deno.exit(0);
}
