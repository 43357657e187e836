/**
 * A tiny listener for the HTTP/2 engine's own tests and benches: `Deno.listenTls` with ALPN h2
 * (or plain `Deno.listen` for h2c prior knowledge), one `H2Connection` per accepted conn, a
 * handler given by the test, and development certificates generated once per process with the
 * `openssl` CLI (server/dev_certs.ts) into a temporary directory.
 *
 * @module
 */

import { Clock } from "../clock/mod.ts";
import {
  H2Connection,
  type H2Handler,
  type H2Limits,
  h2Limits,
  type H2RequestHead,
} from "../http2/mod.ts";
import { ensureDevCertificates } from "../server/dev_certs.ts";

/** PEM texts of a development CA and the localhost leaf it signed. */
export interface TestCertificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly caPath: string;
}

let certificates: Promise<TestCertificates> | null = null;

/** The development certificates (generated on first use, removed at process exit). */
export function testCertificates(): Promise<TestCertificates> {
  certificates ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "h2-certs-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Already gone.
      }
    });
    const paths = await ensureDevCertificates(dir);
    return {
      ca: await Deno.readTextFile(paths.caPath),
      cert: await Deno.readTextFile(paths.certPath),
      key: await Deno.readTextFile(paths.keyPath),
      caPath: paths.caPath,
    };
  })();
  return certificates;
}

/** A running test server. */
export interface H2TestServer {
  readonly port: number;
  readonly clock: Clock;
  /** Every connection accepted so far (open or closed). */
  readonly connections: H2Connection[];
  /** Errors the handler threw (as the engine reported them). */
  readonly handlerErrors: unknown[];
  /** Stops accepting, destroys every connection, waits for them, stops the clock. */
  close(): Promise<void>;
}

/** Options of {@link startH2Server}. */
export interface H2TestServerOptions {
  readonly handler: H2Handler;
  readonly limits?: Partial<H2Limits>;
  /** Plaintext h2c (prior knowledge) instead of TLS. */
  readonly plaintext?: boolean;
  readonly clock?: Clock;
}

/**
 * Starts a listener on 127.0.0.1 (a free port) serving every connection with the engine.
 *
 * @example
 * ```ts
 * const server = await startH2Server({ handler });
 * // ... curl --http2 -k https://127.0.0.1:${server.port}/
 * await server.close();
 * ```
 */
export async function startH2Server(options: H2TestServerOptions): Promise<H2TestServer> {
  const clock = options.clock ?? new Clock();
  const limits = h2Limits(options.limits);
  const listener: Deno.Listener = options.plaintext
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      ...(await testCertificates()),
      alpnProtocols: ["h2"],
    });
  const connections: H2Connection[] = [];
  const runs: Promise<void>[] = [];
  const handlerErrors: unknown[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const connection = new H2Connection(conn, {
        handler: options.handler,
        clock,
        limits,
        onHandlerError: (error) => handlerErrors.push(error),
      });
      connections.push(connection);
      runs.push(handshakeAndRun(conn, connection));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    clock,
    connections,
    handlerErrors,
    async close() {
      listener.close();
      await accepting;
      for (const connection of connections) connection.destroy();
      await Promise.all(runs);
      if (options.clock === undefined) clock.close();
    },
  };
}

async function handshakeAndRun(conn: Deno.Conn, connection: H2Connection): Promise<void> {
  if ("handshake" in conn) {
    try {
      await (conn as Deno.TlsConn).handshake();
    } catch {
      connection.destroy();
      return;
    }
  }
  await connection.run();
}

/** What {@link echoHandler} saw. */
export interface EchoRecord {
  readonly heads: H2RequestHead[];
  /** "abort <id> <message>", "end <id>", "data <id> <bytes>" in order. */
  readonly events: string[];
  /** onDone results of the responses: "<id> ok" or "<id> <message>". */
  readonly done: string[];
}

/**
 * A handler that answers a request without a body at once ("ok <path>") and echoes a request
 * body after its end, granting the declared content-length up front (as the adapter does).
 *
 * @example
 * ```ts
 * const { handler, record } = echoHandler();
 * const server = await startH2Server({ handler });
 * ```
 */
export function echoHandler(): { handler: H2Handler; record: EchoRecord } {
  const record: EchoRecord = { heads: [], events: [], done: [] };
  const handler: H2Handler = {
    onRequest(head, stream) {
      record.heads.push(head);
      const onDone = (error: Error | null) =>
        record.done.push(`${stream.id} ${error === null ? "ok" : error.message}`);
      if (head.endStream) {
        stream.respond(
          200,
          [["content-type", "text/plain"]],
          encoder.encode(`ok ${head.path}`),
          onDone,
        );
      } else if (head.contentLengthBytes > 0) {
        stream.grant(head.contentLengthBytes);
      }
      const chunks: Uint8Array[] = [];
      return {
        onData(bytes) {
          record.events.push(`data ${stream.id} ${bytes.length}`);
          chunks.push(bytes.slice());
          if (head.contentLengthBytes < 0) stream.grant(bytes.length);
        },
        onEnd() {
          record.events.push(`end ${stream.id}`);
          const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const chunk of chunks) [body.set(chunk, at), at += chunk.length];
          stream.respond(200, [["content-type", "application/octet-stream"]], body, onDone);
        },
        onAbort(reason) {
          record.events.push(`abort ${stream.id} ${reason.message}`);
        },
      };
    },
  };
  return { handler, record };
}

const encoder = new TextEncoder();
