/**
 * The server side of `bench/h3_bench.ts`, run as its own process so the load generator and the
 * server never share an isolate (as in production, and as the HTTP/1.1 RPC bench does): the
 * real service (pool, method table, Hono app, no store; TCP TLS h1/h2 and UDP QUIC h3 on one
 * port) plus a bare QUIC stream echo on a second port. Prints one JSON line
 * `{"port":N,"rawPort":M,"caPath":"..."}` when listening and stops when stdin closes.
 *
 * @module
 */

import { startH3Service } from "../tests/_h3_service.ts";

const service = await startH3Service();
const [cert, key] = await Promise.all([
  Deno.readTextFile(service.svc.certPath),
  Deno.readTextFile(service.svc.keyPath),
]);
const caPath = await Deno.makeTempFile({ suffix: ".pem" });
await Deno.writeTextFile(caPath, service.caPem);

const rawEndpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
const rawListener = rawEndpoint.listen({ alpnProtocols: ["echo"], cert, key });

/**
 * Echoes one stream: reads to FIN, writes the bytes back, FIN. Reads use a BYOB reader with
 * 4 KiB buffers, as the HTTP/3 code does, so the baseline pays no avoidable 64 KiB allocations.
 */
async function echo(stream: Deno.QuicBidirectionalStream): Promise<void> {
  const chunks: Uint8Array[] = [];
  const reader = stream.readable.getReader({ mode: "byob" });
  // Bounded by the client's small request.
  for (let i = 0; i < 1024; i++) {
    const { done, value } = await reader.read(new Uint8Array(4096));
    if (done) break;
    chunks.push(value);
  }
  const writer = stream.writable.getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  await writer.close();
}

const rawServing = (async () => {
  for await (const incoming of rawListener) {
    const conn = await incoming.accept();
    (async () => {
      for await (const stream of conn.incomingBidirectionalStreams) echo(stream).catch(() => {});
    })().catch(() => {});
  }
})().catch(() => {});

console.log(JSON.stringify({ port: service.port, rawPort: rawEndpoint.addr.port, caPath }));
// Stop when the parent closes our stdin (reads until EOF).
const buffer = new Uint8Array(64);
while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
rawEndpoint.close();
await rawServing;
await service.close();
await Deno.remove(caPath);
