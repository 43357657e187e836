/**
 * The baselines of the as-shipped load bench (bench/shipped_bench.ts), in one process of their
 * own (only one load runs at a time, so they never compete):
 * - bare `Deno.serve` on plaintext HTTP/1.1,
 * - bare `Deno.serve` over TLS (ALPN h2 and http/1.1: the TLS h1 and h2 baselines),
 * both answering fixed bytes — exactly what the service answers a binary `system.echo` — without
 * reading the request body; and
 * - a raw QUIC stream echo (bench/_raw_quic_echo.ts), the HTTP/3 baseline.
 *
 * Usage: `deno run -A --unstable-net bench/_baseline_server.ts CERT_PEM KEY_PEM ANSWER_FILE`
 * (the service's leaf certificate and key, and the bytes to answer). Prints one JSON line
 * `{"plainPort":N,"tlsPort":N,"quicPort":N}` when listening; stops when stdin closes.
 *
 * @module
 */

import { startRawQuicEcho } from "./_raw_quic_echo.ts";

async function main(): Promise<void> {
  const [certPath, keyPath, answerPath] = Deno.args;
  if (!certPath || !keyPath || !answerPath) {
    throw new TypeError("usage: _baseline_server.ts CERT_PEM KEY_PEM ANSWER_FILE");
  }
  const [cert, key, answer] = await Promise.all([
    Deno.readTextFile(certPath),
    Deno.readTextFile(keyPath),
    Deno.readFile(answerPath),
  ]);
  const init = { headers: { "content-type": "application/capnp" } };
  const handler = () => new Response(answer.slice(), init);
  const listen = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
  const plain = Deno.serve(listen, handler);
  const tls = Deno.serve({ ...listen, cert, key }, handler);
  const quic = startRawQuicEcho(cert, key);
  console.log(JSON.stringify({
    plainPort: plain.addr.port,
    tlsPort: tls.addr.port,
    quicPort: quic.port,
  }));
  // Stop when the parent closes our stdin (reads until EOF).
  const buffer = new Uint8Array(64);
  while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
  await Promise.all([plain.shutdown(), tls.shutdown(), quic.close()]);
}

if (import.meta.main) await main();
