/**
 * One client per transport for the contract table (tests/contract_test.ts): each opens a request
 * with exactly the fields given, sends body bytes when told, ends or aborts the body, and reads
 * the response. Real sockets and real clients: raw bytes over TCP (HTTP/1.1) and over TLS with
 * ALPN http/1.1, Node's `node:http2` over TLS (h2), and raw HTTP/3 frames over a real QUIC
 * connection (h3).
 *
 * @module
 */

import http2 from "node:http2";
import type { Buffer } from "node:buffer";
import { H3Client } from "../http3/client.ts";
import { encodeDataFrame, encodeHeadersFrame, FrameParser } from "../http3/frame.ts";
import { decodeFieldSection, encodeFieldSection } from "../http3/qpack.ts";

/** A response as every client reports it. */
export interface ContractResponse {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly fields: Map<string, string>;
  readonly body: Uint8Array;
}

/** A request in flight. */
export interface Exchange {
  /** The response (it may come before the body was sent). */
  readonly response: Promise<ContractResponse>;
  /** Sends body bytes. */
  send(bytes: Uint8Array): Promise<void>;
  /** Ends the request body (HTTP/2 and HTTP/3: END_STREAM / FIN; HTTP/1.1: nothing to send). */
  end(): Promise<void>;
  /** Abandons the request: closes the socket (HTTP/1.1), resets the stream (h2, h3). */
  abort(): void;
}

/** What a request is made of. */
export interface ContractRequest {
  readonly method: string;
  readonly path: string;
  /** Exactly these fields, repeated names allowed (the HTTP/1.1 Host is added). */
  readonly fields: readonly (readonly [string, string])[];
}

/** A client of one transport. */
export interface ContractClient {
  readonly name: string;
  open(request: ContractRequest): Promise<Exchange>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads one HTTP/1.1 response off `conn` (until its Content-Length is complete or EOF). */
async function readH1Response(conn: Deno.Conn): Promise<ContractResponse> {
  let bytes = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  // Each read adds at least one byte; a response is bounded to 16 MiB here.
  for (let reads = 0; bytes.length < 16 << 20; reads++) {
    const parsed = parseH1(bytes);
    if (parsed !== null) return parsed;
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) break;
    const joined = new Uint8Array(bytes.length + n);
    joined.set(bytes);
    joined.set(chunk.subarray(0, n), bytes.length);
    bytes = joined;
  }
  const parsed = parseH1(bytes, true);
  if (parsed === null) throw new Error(`no response: ${JSON.stringify(decoder.decode(bytes))}`);
  return parsed;
}

function parseH1(bytes: Uint8Array, atEnd = false): ContractResponse | null {
  const text = decoder.decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return null;
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
  }
  const status = Number(statusLine.split(" ")[1]);
  if (status < 200) return parseH1(bytes.subarray(encoder.encode(text.slice(0, split + 4)).length));
  const headBytes = encoder.encode(text.slice(0, split + 4)).length;
  const length = Number(fields.get("content-length") ?? (atEnd ? bytes.length - headBytes : -1));
  if (length < 0 || bytes.length < headBytes + length) return null;
  return { status, fields, body: bytes.slice(headBytes, headBytes + length) };
}

/** HTTP/1.1 over a fresh connection per request (`Connection: close`). */
export function h1Client(
  name: string,
  connect: () => Promise<Deno.Conn>,
): ContractClient {
  return {
    name,
    async open(request) {
      const conn = await connect();
      const lines = [`${request.method} ${request.path} HTTP/1.1`, "Host: localhost"];
      for (const [field, value] of request.fields) lines.push(`${field}: ${value}`);
      lines.push("Connection: close");
      await conn.write(encoder.encode(lines.join("\r\n") + "\r\n\r\n"));
      let open = true;
      const close = () => {
        if (!open) return;
        open = false;
        try {
          conn.close();
        } catch {
          // Closed by the server's end already.
        }
      };
      const response = readH1Response(conn).finally(close);
      response.catch(() => {});
      return {
        response,
        send: async (bytes) => void await conn.write(bytes),
        end: () => Promise.resolve(),
        abort: close,
      };
    },
    close: () => Promise.resolve(),
  };
}

/** HTTP/2 over TLS through Node's client: one session, a stream per request. */
export function h2Client(origin: string, ca: string): ContractClient {
  const session = http2.connect(origin, { ca });
  session.on("error", () => {});
  return {
    name: "h2",
    open(request) {
      const headers: Record<string, string> = { ":method": request.method, ":path": request.path };
      // Node's client takes one value per name: repeated fields are joined, as a proxy would.
      for (const [field, value] of request.fields) {
        headers[field] = field in headers ? `${headers[field]}, ${value}` : value;
      }
      const stream = session.request(headers, { endStream: false });
      const response = new Promise<ContractResponse>((resolve, reject) => {
        const pieces: Buffer[] = [];
        let status = 0;
        const fields = new Map<string, string>();
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          for (const [k, v] of Object.entries(h)) if (!k.startsWith(":")) fields.set(k, String(v));
        });
        stream.on("data", (d: Buffer) => pieces.push(d));
        stream.on(
          "end",
          () => resolve({ status, fields, body: new Uint8Array(concatBuffers(pieces)) }),
        );
        stream.on(
          "error",
          (error) =>
            status > 0
              ? resolve({ status, fields, body: new Uint8Array(concatBuffers(pieces)) })
              : reject(error),
        );
        stream.on(
          "close",
          () =>
            status > 0
              ? resolve({ status, fields, body: new Uint8Array(concatBuffers(pieces)) })
              : reject(new Error("the stream closed without a response")),
        );
      });
      response.catch(() => {});
      return Promise.resolve({
        response,
        send: (bytes) => new Promise<void>((resolve) => stream.write(bytes, () => resolve())),
        end: () => new Promise<void>((resolve) => stream.end(() => resolve())),
        abort: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      });
    },
    close: () => new Promise<void>((resolve) => session.close(() => resolve())),
  };
}

function concatBuffers(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** HTTP/3: raw frames on request streams of one real QUIC connection. */
export async function h3Client(
  options: { port: number; caCerts: string[] },
): Promise<ContractClient> {
  const client = await H3Client.connect({
    hostname: "127.0.0.1",
    port: options.port,
    caCerts: options.caCerts,
    serverName: "localhost",
  });
  return {
    name: "h3",
    async open(request) {
      const stream = await client.connection.createBidirectionalStream();
      const writer = stream.writable.getWriter();
      const lines: [string, string][] = [
        [":method", request.method],
        [":scheme", "https"],
        [":authority", `localhost:${options.port}`],
        [":path", request.path],
        ...request.fields.map(([n, v]) => [n.toLowerCase(), v] as [string, string]),
      ];
      await writer.write(encodeHeadersFrame(encodeFieldSection(lines)));
      const response = readH3Response(stream.readable);
      response.catch(() => {});
      return {
        response,
        send: (bytes) => writer.write(encodeDataFrame(bytes)),
        end: () => writer.close(),
        abort: () => {
          writer.abort().catch(() => {});
          stream.readable.cancel().catch(() => {});
        },
      };
    },
    close: () => client.close(),
  };
}

async function readH3Response(readable: ReadableStream<Uint8Array>): Promise<ContractResponse> {
  const parser = new FrameParser({ streamKind: "request", role: "client" });
  const fields = new Map<string, string>();
  const pieces: Uint8Array[] = [];
  let status = 0;
  for await (const chunk of readable) {
    parser.push(chunk);
    for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
      if (frame.type === "headers") {
        for (const [name, value] of decodeFieldSection(frame.fieldSection).fields) {
          if (name === ":status") status = Number(value);
          else fields.set(name, value);
        }
      } else if (frame.type === "data") pieces.push(frame.bytes.slice());
    }
  }
  if (status === 0) throw new Error("the stream ended without a response");
  return { status, fields, body: concatBuffers(pieces) };
}
