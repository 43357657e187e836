/**
 * A server for the HTTP/2 engine benchmark, run as its own process (the load generator and the
 * server never share an isolate), over TLS with ALPN h2 and the development certificates:
 * - `engine`: `Deno.listenTls` + the http2/ engine, a minimal handler that takes the small POST
 *   body (granting what it reads) and answers fixed bytes after its end;
 * - `bare`: `Deno.serve` (hyper's HTTP/2) reading the body (`Request.bytes()`) and answering the
 *   same fixed bytes with the same content type.
 * Prints one JSON line `{"port":N}` when listening and stops when stdin closes.
 *
 * @module
 */

import { Clock } from "../clock/mod.ts";
import { H2Connection, type H2Handler, h2Limits } from "../http2/mod.ts";
import { testCertificates } from "../tests/_h2_server.ts";

const mode = Deno.args[0];
const ANSWER = new TextEncoder().encode("ok, 21 bytes answered");
const FIELDS: [string, string][] = [["content-type", "application/octet-stream"]];
const certificates = await testCertificates();

async function untilStdinCloses(): Promise<void> {
  const buf = new Uint8Array(64);
  while ((await Deno.stdin.read(buf)) !== null) { /* ignore input */ }
}

if (mode === "engine") {
  const clock = new Clock();
  const limits = h2Limits();
  const handler: H2Handler = {
    onRequest(head, stream) {
      if (head.endStream) stream.respond(200, FIELDS, ANSWER);
      return {
        onData: (bytes) => stream.grant(bytes.length),
        onEnd: () => stream.respond(200, FIELDS, ANSWER),
        onAbort() {},
      };
    },
  };
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: certificates.cert,
    key: certificates.key,
    alpnProtocols: ["h2"],
  });
  console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port }));
  (async () => {
    for await (const conn of listener) {
      conn.handshake().then(
        () => new H2Connection(conn, { handler, clock, limits }).run(),
        () => conn.close(),
      );
    }
  })().catch(() => {});
  await untilStdinCloses();
  listener.close();
} else if (mode === "bare") {
  const init = { headers: { "content-type": "application/octet-stream" } };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certificates.cert,
    key: certificates.key,
    onListen: () => {},
  }, async (request) => {
    await request.bytes();
    return new Response(ANSWER.slice(), init);
  });
  console.log(JSON.stringify({ port: server.addr.port }));
  await untilStdinCloses();
  await server.shutdown();
} else {
  throw new TypeError(`Cannot start the h2 bench server: unknown mode ${mode}`);
}
