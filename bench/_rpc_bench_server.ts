/**
 * A server for the RPC load benchmark, run as its own process so the load generator and the
 * server never share an isolate:
 * - `bare`: Deno.serve answering fixed bytes without reading the request (the baseline);
 * - `bare-read`: Deno.serve reading the request body (`Request.bytes()`), then answering the same
 *   fixed bytes (what any server that looks at its body pays in Deno);
 * - `service [DATA_DIR]`: the real service (pool, method table, Hono app; no store; dev
 *   certificates under DATA_DIR, a temp dir by default).
 *
 * Both bare servers answer exactly the bytes `system.echo` answers to the bench's request (the
 * framed RpcResponse echoing a 1-byte payload, `application/capnp`), so every server sends the
 * same response. Prints one JSON line `{"port":N}` when listening and stops when stdin closes.
 *
 * @module
 */

import { measureResponse, writeResponse } from "../rpc/envelope.ts";
import { Pool } from "../pool/mod.ts";
import { SystemEchoResultCodec } from "../schema/system_capnp.ts";
import { startService } from "../server/service.ts";
import { fixedPlan } from "../tests/_plan.ts";

const mode = Deno.args[0];
const stop = async () => {
  // Stop when the parent closes our stdin (bounded: reads until EOF).
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore input */ }
};

/** The framed RpcResponse `system.echo` sends back for the bench's request (requestId 1). */
function echoResponseBytes(): Uint8Array<ArrayBuffer> {
  const response = {
    requestId: 1,
    codec: SystemEchoResultCodec,
    result: { payload: new Uint8Array([1]) },
  };
  const out = new Uint8Array(measureResponse(response));
  writeResponse(response, out);
  return out;
}

if (mode === "bare" || mode === "bare-read") {
  const body = echoResponseBytes();
  const init = { headers: { "content-type": "application/capnp" } };
  const handler = mode === "bare"
    ? () => new Response(body.slice(), init)
    : async (request: Request) => {
      await request.bytes();
      return new Response(body.slice(), init);
    };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
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
  const plan = fixedPlan(classes);
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
  console.error("usage: _rpc_bench_server.ts bare|bare-read|service [DATA_DIR]");
  Deno.exit(2);
}
