/**
 * The server side of `bench/h3_bench.ts`, run as its own process so the load generator and the
 * server never share an isolate (as in production, and as the HTTP/1.1 RPC bench does): the
 * real service (pool, method table, Hono app, no store; TCP TLS h1/h2 and UDP QUIC h3 on one
 * port) plus a bare QUIC stream echo on a second port. Prints one JSON line
 * `{"port":N,"rawPort":M,"caPath":"..."}` when listening and stops when stdin closes.
 *
 * @module
 */

import { startRawQuicEcho } from "./_raw_quic_echo.ts";
import { startH3Service } from "../tests/_h3_service.ts";

const service = await startH3Service();
const [cert, key] = await Promise.all([
  Deno.readTextFile(service.svc.certPath),
  Deno.readTextFile(service.svc.keyPath),
]);
const caPath = await Deno.makeTempFile({ suffix: ".pem" });
await Deno.writeTextFile(caPath, service.caPem);

const rawEcho = startRawQuicEcho(cert, key);

console.log(JSON.stringify({ port: service.port, rawPort: rawEcho.port, caPath }));
// Stop when the parent closes our stdin (reads until EOF).
const buffer = new Uint8Array(64);
while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
await rawEcho.close();
await service.close();
await Deno.remove(caPath);
