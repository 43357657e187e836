/**
 * A server for the RPC load benchmark, run as its own process so the load generator and the
 * server never share an isolate: `bare` (Deno.serve answering fixed bytes, the baseline) or
 * `service [DATA_DIR]` (the real service: pool, method table, Hono app; no store; dev
 * certificates under DATA_DIR, a temp dir by default). Prints one JSON line
 * `{"port":N}` when listening and stops when stdin closes.
 *
 * @module
 */

import { Pool } from "../pool/mod.ts";
import { startService } from "../server/service.ts";

const mode = Deno.args[0];
const stop = async () => {
  // Stop when the parent closes our stdin (bounded: reads until EOF).
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore input */ }
};

if (mode === "bare") {
  const body = new TextEncoder().encode('{"payload":"AQ=="}');
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response(body.slice(), { headers: { "content-type": "application/json" } }),
  );
  console.log(JSON.stringify({ port: server.addr.port }));
  await stop();
  await server.shutdown();
} else if (mode === "service") {
  const classes = [
    { blockSizeBytes: 4096, blockCount: 256 },
    { blockSizeBytes: 65536, blockCount: 16 },
    { blockSizeBytes: 1 << 20, blockCount: 2 },
  ];
  const pool = Pool.open(classes);
  // The parent passes a directory it removes itself (it may kill us rather than wait).
  const dataDir = Deno.args[1] ?? await Deno.makeTempDir({ prefix: "rpc-bench-" });
  const plan = {
    classes,
    totalBytes: classes.reduce((n, c) => n + c.blockSizeBytes * c.blockCount, 0),
    maxPropertiesPerOverlap: 128,
    messageBytesMax: 1 << 20,
    profile: "rpc",
  };
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: 30000,
  };
  const svc = await startService(config, plan, { pool, store: null, quiet: true });
  console.log(JSON.stringify({ port: svc.plaintextPort }));
  await stop();
  await svc.shutdown();
  pool.close();
  if (Deno.args[1] === undefined) await Deno.remove(dataDir, { recursive: true });
} else {
  console.error("usage: _rpc_bench_server.ts bare|service");
  Deno.exit(2);
}
