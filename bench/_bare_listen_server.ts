/**
 * The runtime's floor for the overload rows: the least a Deno HTTP/1.1 server can do with the
 * same load. It reads each request body into one process-wide buffer (overwritten by every
 * connection, so no per-request memory at all), answers 200 with as many bytes as it read from
 * another process-wide buffer, and keeps the connection alive; `GET /healthz` answers `ok`. No
 * pool, no framework, no parsing beyond the head's end and Content-Length. Whatever its RSS
 * grows by under the load is Deno's own (sockets, ops, V8), which the service cannot go below.
 * Prints `{"port":N}` when listening and stops on SIGTERM.
 *
 * @module
 */

const BODY_BYTES_MAX = 1024 * 1024;
const HEAD_BYTES_MAX = 16 * 1024;
const SHARED_BODY = new Uint8Array(BODY_BYTES_MAX);
const SHARED_ANSWER = new Uint8Array(BODY_BYTES_MAX);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The index just past the head's blank line in `buf[0, end)`, or -1. */
function headEnd(buf: Uint8Array, end: number): number {
  for (let i = 3; i < end; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

/** Reads and drops `count` body bytes into the shared buffer; false at EOF. */
async function dropBody(conn: Deno.Conn, count: number): Promise<boolean> {
  // Each pass reads at least one byte or ends.
  for (let left = count; left > 0;) {
    const read = await conn.read(SHARED_BODY.subarray(0, Math.min(left, BODY_BYTES_MAX)));
    if (read === null) return false;
    left -= read;
  }
  return true;
}

/** Serves one keep-alive connection; every request is bounded by the head and body maxima. */
async function serve(conn: Deno.Conn): Promise<void> {
  const head = new Uint8Array(HEAD_BYTES_MAX);
  let end = 0;
  try {
    // Meant to run until the client closes; each pass serves one request or ends.
    for (;;) {
      let stop = headEnd(head, end);
      while (stop < 0) {
        if (end === HEAD_BYTES_MAX) return;
        const read = await conn.read(head.subarray(end));
        if (read === null) return;
        end += read;
        stop = headEnd(head, end);
      }
      const text = decoder.decode(head.subarray(0, stop));
      const length = Math.min(
        Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? 0),
        BODY_BYTES_MAX,
      );
      const buffered = Math.min(end - stop, length);
      if (!await dropBody(conn, length - buffered)) return;
      head.copyWithin(0, stop + buffered, end);
      end -= stop + buffered;
      const body = text.startsWith("GET /healthz")
        ? encoder.encode("ok")
        : SHARED_ANSWER.subarray(0, length);
      await conn.write(encoder.encode(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`));
      for (let sent = 0; sent < body.length;) sent += await conn.write(body.subarray(sent));
    }
  } catch {
    // A reset ends the connection.
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port }));
const accepting = (async () => {
  // Meant to run until the listener closes.
  for await (const conn of listener) serve(conn);
})();
await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
listener.close();
await accepting.catch(() => {});
console.log(JSON.stringify({ inUse: 0 }));
Deno.exit(0);
