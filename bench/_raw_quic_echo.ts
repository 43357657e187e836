/**
 * The HTTP/3 benchmarks' baseline: a bare QUIC stream echo (ALPN `echo`) that reads each
 * bidirectional stream to its FIN and writes the bytes back, with nothing of HTTP/3 on top.
 *
 * @module
 */

/** Chunks one echoed stream may hold: the benches send small requests. */
const STREAM_CHUNK_COUNT_MAX = 1024;

/**
 * Echoes one stream: reads to FIN, writes the bytes back, FIN. Reads use a BYOB reader with
 * 4 KiB buffers, as the HTTP/3 code does, so the baseline pays no avoidable 64 KiB allocations.
 */
async function echo(stream: Deno.QuicBidirectionalStream): Promise<void> {
  const chunks: Uint8Array[] = [];
  const reader = stream.readable.getReader({ mode: "byob" });
  for (let i = 0; i < STREAM_CHUNK_COUNT_MAX; i++) {
    const { done, value } = await reader.read(new Uint8Array(4096));
    if (done) break;
    chunks.push(value);
  }
  const writer = stream.writable.getWriter();
  for (const chunk of chunks) await writer.write(chunk);
  await writer.close();
}

/** A listening raw QUIC echo. */
export interface RawQuicEcho {
  readonly port: number;
  /** Closes the endpoint and waits for the accept loop to end. */
  close(): Promise<void>;
}

/**
 * Listens on `127.0.0.1:0` with `cert`/`key` (a leaf certificate: QUIC refuses a CA as the end
 * entity) and echoes every stream of every connection until `close()`.
 *
 * @example
 * ```ts
 * const echo = startRawQuicEcho(certPem, keyPem);
 * console.log(echo.port);
 * await echo.close();
 * ```
 */
export function startRawQuicEcho(cert: string, key: string): RawQuicEcho {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({ alpnProtocols: ["echo"], cert, key });
  // Runs until the endpoint closes (the listener's iteration then ends).
  const serving = (async () => {
    for await (const incoming of listener) {
      (async () => {
        const conn = await incoming.accept();
        for await (const stream of conn.incomingBidirectionalStreams) echo(stream).catch(() => {});
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: endpoint.addr.port,
    async close() {
      endpoint.close();
      await serving;
    },
  };
}
