/**
 * An HTTP/3 client over `Deno.connectQuic`: one QUIC connection, many concurrent requests, a
 * `fetch`-shaped entry point (for tests, benchmarks and the RPC client's HTTP/3 transport).
 *
 * It advertises a QPACK dynamic table of capacity 0, so responses decode from the static table
 * and literals alone; it sends no inserts either.
 *
 * @module
 */

import { H3Error } from "./errors.ts";
import { encodeSettingsFrame, FrameParser, STREAM_TYPE } from "./frame.ts";
import { decodeFieldSection } from "./qpack.ts";
import type { FieldLine } from "./qpack_static.ts";
import { type OutgoingRequest, RequestEncoder } from "./request_encoder.ts";
import { SectionCache } from "./section_cache.ts";
import { Clock } from "../clock/mod.ts";
import { frameBodyStream, StallWatch, StreamInput } from "./stream_input.ts";
import { readVarint } from "./varint.ts";

/** Options of {@link H3Client.connect}. */
export interface H3ClientOptions {
  readonly hostname: string;
  readonly port: number;
  /** Extra PEM root certificates (e.g. the development CA). */
  readonly caCerts?: string[];
  /** The name checked against the certificate; default `hostname`. */
  readonly serverName?: string;
  /** Longest wait for the server's next bytes on a response; default 30 s. */
  readonly stallTimeoutMs?: number;
  /** Largest response HEADERS accepted; default 64 KiB. */
  readonly headersBytesMax?: number;
}

/** Bounds reads of the server's control stream (each read yields at least one byte). */
const CONTROL_CHUNK_COUNT_MAX = 1 << 24;

/**
 * An HTTP/3 connection to one server.
 *
 * @example
 * ```ts
 * const client = await H3Client.connect({ hostname: "127.0.0.1", port, caCerts: [ca],
 *   serverName: "localhost" });
 * const response = await client.fetch(`https://localhost:${port}/healthz`);
 * console.log(response.status, await response.text());
 * await client.close();
 * ```
 */
export class H3Client {
  readonly #conn: Deno.QuicConn;
  readonly #stallWatch: StallWatch;
  /** The client's own clock (a client is not part of a service). */
  readonly #clock: Clock;
  readonly #headersBytesMax: number;
  /** Parsed heads of the server's static-only response sections (they repeat). */
  readonly #responseHeads = new SectionCache<ResponseHead>();
  readonly #encoder: RequestEncoder;
  readonly #goaway = Promise.withResolvers<number>();
  readonly #background: Promise<void>;
  #control: WritableStreamDefaultWriter<Uint8Array> | null = null;

  private constructor(conn: Deno.QuicConn, options: H3ClientOptions) {
    this.#conn = conn;
    this.#clock = new Clock();
    this.#stallWatch = new StallWatch(options.stallTimeoutMs ?? 30_000, this.#clock);
    this.#headersBytesMax = options.headersBytesMax ?? 65536;
    this.#encoder = new RequestEncoder(`${options.serverName ?? options.hostname}:${options.port}`);
    this.#goaway.promise.catch(() => {});
    this.#background = this.#readServerStreams();
  }

  /** Connects and sends our control stream with SETTINGS. */
  static async connect(options: H3ClientOptions): Promise<H3Client> {
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new RangeError(`Cannot connect: port ${options.port} is not 1..65535`);
    }
    const conn = await Deno.connectQuic({
      hostname: options.hostname,
      port: options.port,
      serverName: options.serverName,
      caCerts: options.caCerts,
      alpnProtocols: ["h3"],
    });
    const client = new H3Client(conn, options);
    try {
      await client.#openControl();
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** The QUIC connection (tests open raw streams on it). */
  get connection(): Deno.QuicConn {
    return this.#conn;
  }

  /** Resolves with the stream ID of the server's GOAWAY, when it sends one. */
  get goaway(): Promise<number> {
    return this.#goaway.promise;
  }

  async #openControl(): Promise<void> {
    const control = (await this.#conn.createUnidirectionalStream()).getWriter();
    const settings = encodeSettingsFrame({ qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 });
    const first = new Uint8Array(1 + settings.length);
    first[0] = STREAM_TYPE.CONTROL;
    first.set(settings, 1);
    await control.write(first);
    this.#control = control;
  }

  /**
   * Sends a request and resolves with the response once its HEADERS arrived. Same shape as
   * `fetch`. The request body is read whole before sending (this is a client for calls, not a
   * proxy); a response body with a Content-Length up to 64 KiB is read whole too, a larger or
   * unsized one streams from the DATA frames.
   */
  async fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    const outgoing = plainRequest(input, init) ?? await requestThroughObject(input, init);
    // Encoded before the stream opens: a bad URL or header fails without using a stream.
    const bytes = this.#encoder.encode(outgoing);
    const stream = await this.#conn.createBidirectionalStream({ waitUntilAvailable: true });
    const sending = sendRequest(stream.writable, bytes);
    sending.catch(() => {});
    const frames = new StreamInput(stream.readable, {
      streamKind: "request",
      role: "client",
      stallWatch: this.#stallWatch,
      headersBytesMax: this.#headersBytesMax,
      // buildResponse copies a small body out and recycles the read buffers (or owns the
      // bytes before a streamed body hands out chunks).
      lendScratch: true,
    });
    try {
      const head = await readResponseHead(frames, this.#responseHeads);
      return await buildResponse(head, frames, outgoing.method);
    } catch (error) {
      frames.cancel();
      await sending.catch(() => {});
      throw error;
    }
  }

  async #readServerStreams(): Promise<void> {
    const reader = this.#conn.incomingUnidirectionalStreams.getReader();
    const tasks: Promise<void>[] = [];
    try {
      // Ends when the connection closes.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        tasks.push(this.#readServerStream(value).catch(() => {}));
      }
    } catch {
      // The connection closed.
    } finally {
      reader.releaseLock();
    }
    await Promise.allSettled(tasks);
  }

  async #readServerStream(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    const first = await reader.read();
    if (first.done) return;
    // The type varint of a server stream arrives with its first bytes in practice; a type split
    // across reads would be misread as unknown and discarded, which only loses a GOAWAY hint.
    const type = readVarint(first.value, 0);
    if (type === undefined || type.value !== STREAM_TYPE.CONTROL) {
      // QPACK streams carry nothing for us (capacity 0); unknown types are discarded.
      await reader.cancel().catch(() => {});
      return;
    }
    await this.#readControlFrames(reader, first.value.subarray(type.lengthBytes));
  }

  async #readControlFrames(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    rest: Uint8Array,
  ): Promise<void> {
    const parser = new FrameParser({ streamKind: "control", role: "client" });
    parser.push(rest);
    for (let i = 0; i < CONTROL_CHUNK_COUNT_MAX; i++) {
      for (let frame = parser.next(); frame !== undefined; frame = parser.next()) {
        if (frame.type === "goaway") this.#goaway.resolve(frame.id);
      }
      const { done, value } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  }

  /** Closes the connection (H3_NO_ERROR) and waits for its background reads. */
  async close(): Promise<void> {
    try {
      this.#conn.close({ closeCode: 0x0100, reason: "" });
    } catch {
      // Already closed.
    }
    this.#goaway.reject(new Error("connection closed"));
    await this.#background.catch(() => {});
    this.#clock.close();
  }
}

/**
 * A plain request (a URL and an init whose body is absent, a string or bytes, headers a record,
 * pairs or Headers) as method, URL, header pairs and body, without a `Request` object; null
 * for anything else (a Request, a stream, a Blob or form body).
 */
function plainRequest(
  input: Request | string | URL,
  init: RequestInit | undefined,
): OutgoingRequest | null {
  const raw = init?.body ?? null;
  if (input instanceof Request) return null;
  let body: Uint8Array | null;
  if (raw === null) body = null;
  else if (typeof raw === "string") body = textEncoder.encode(raw);
  else if (raw instanceof Uint8Array) body = raw;
  else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
  else return null;
  const headers = headerPairs(init?.headers);
  if (typeof raw === "string" && !headers.some(([name]) => name.toLowerCase() === "content-type")) {
    headers.push(["content-type", "text/plain;charset=UTF-8"]);
  }
  return { method: (init?.method ?? "GET").toUpperCase(), url: String(input), headers, body };
}

/** Any other request, through a `Request` object (its body read whole). */
async function requestThroughObject(
  input: Request | string | URL,
  init: RequestInit | undefined,
): Promise<OutgoingRequest> {
  const request = input instanceof Request && init === undefined ? input : new Request(input, init);
  const body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  return { method: request.method, url: request.url, headers: [...request.headers], body };
}

const textEncoder = new TextEncoder();

function headerPairs(headers: HeadersInit | undefined): [string, string][] {
  if (headers === undefined) return [];
  if (headers instanceof Headers || Array.isArray(headers)) {
    return [...(headers as Iterable<[string, string]>)].map(([name, value]) => [name, value]);
  }
  return Object.entries(headers);
}

/** Writes the request's one buffer and FIN. */
async function sendRequest(writable: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = writable.getWriter();
  try {
    // close() waits for the write, and fails when it failed.
    writer.write(bytes).catch(() => {});
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/** A response head as the client uses it; shared by responses with the same field section. */
interface ResponseHead {
  /** The :status as a number (NaN or out of range for a bad one: checked on use). */
  readonly status: number;
  /**
   * The regular fields as pairs, not a Headers object: the Response copies its init, so a
   * Headers built here would be built twice (and iterated sorted).
   */
  readonly headers: readonly [string, string][];
  /** Content-Length, or NaN when absent. */
  readonly declaredBytes: number;
}

function responseHeadOf(fields: readonly FieldLine[]): ResponseHead {
  const headers: [string, string][] = [];
  let status = NaN;
  let contentLength: string | null = null;
  for (const [name, value] of fields) {
    if (name === ":status") status = Number(value);
    else if (!name.startsWith(":")) {
      headers.push([name, value]);
      if (name === "content-length") contentLength = value;
    }
  }
  return { status, headers, declaredBytes: Number(contentLength ?? NaN) };
}

/** The final response's head: interim (1xx) ones are skipped; a repeated section is cached. */
async function readResponseHead(
  input: StreamInput,
  cache: SectionCache<ResponseHead>,
): Promise<ResponseHead> {
  // Interim (1xx) responses come before the final one; a handful at most.
  for (let i = 0; i < 16; i++) {
    const frame = await input.nextFrame();
    if (frame === null) throw new H3Error("H3_REQUEST_INCOMPLETE", "no response HEADERS");
    if (frame.type !== "headers") continue;
    const section = frame.fieldSection;
    let head = cache.lookup(section);
    if (head === undefined) {
      head = responseHeadOf(decodeFieldSection(section).fields);
      cache.store(section, head);
    }
    if (!(head.status >= 100 && head.status < 200)) return head;
  }
  throw new H3Error("H3_EXCESSIVE_LOAD", "more than 16 interim responses");
}

/** Response bodies up to this size with a Content-Length are read whole before returning. */
const WHOLE_BODY_BYTES_MAX = 65536;

async function readWholeBody(
  input: StreamInput,
  lengthBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(lengthBytes);
  let filled = 0;
  // Each iteration consumes one frame or piece; the stream is finite and bounded by StreamInput.
  while (filled < lengthBytes) {
    // A body that came with its HEADERS is taken without an await.
    const frame = input.bufferedFrame() ?? await input.nextFrame();
    if (frame === null) break;
    if (frame.type !== "data") continue;
    if (filled + frame.bytes.length > lengthBytes) {
      throw new H3Error("H3_MESSAGE_ERROR", `body exceeds content-length ${lengthBytes}`, {
        scope: "stream",
      });
    }
    bytes.set(frame.bytes, filled);
    filled += frame.bytes.length;
  }
  if (filled !== lengthBytes) {
    throw new H3Error(
      "H3_MESSAGE_ERROR",
      `body of ${filled} bytes, content-length ${lengthBytes}`,
      {
        scope: "stream",
      },
    );
  }
  return bytes;
}

async function buildResponse(
  head: ResponseHead,
  input: StreamInput,
  method: string,
): Promise<Response> {
  const status = head.status;
  const headers = head.headers as [string, string][];
  if (!Number.isInteger(status) || status < 200 || status > 999) {
    input.cancel();
    throw new H3Error("H3_MESSAGE_ERROR", `bad :status ${status}`, { scope: "stream" });
  }
  const nullBody = method === "HEAD" || status === 204 || status === 304;
  if (nullBody) {
    input.cancel();
    input.recycle();
  }
  const declared = head.declaredBytes;
  if (!nullBody && declared >= 0 && declared <= WHOLE_BODY_BYTES_MAX) {
    const bytes = await readWholeBody(input, declared);
    // The declared body is in: the stream's end (FIN, trailers) is not waited for. Its bytes
    // were copied, so the read buffers serve the next responses.
    input.cancel();
    input.recycle();
    return new Response(bytes, { status, headers });
  }
  // The body's chunks go to the caller: they must not view reused read buffers.
  if (!nullBody) input.ownBytes();
  const body = nullBody ? null : frameBodyStream(input, async (controller) => {
    // Skips trailers and zero-length pieces; each iteration consumes at least one frame.
    for (;;) {
      const frame = await input.nextFrame();
      if (frame === null) {
        controller.close();
        return;
      }
      if (frame.type === "data" && frame.bytes.length > 0) {
        controller.enqueue(frame.bytes);
        return;
      }
    }
  });
  return new Response(body, { status, headers });
}

/** Options of {@link createHttp3Transport}. */
export interface Http3TransportOptions {
  /** The service's base URL, e.g. `https://localhost:8443`. */
  readonly url: string;
  /** Extra PEM root certificates (e.g. the development CA). */
  readonly caCerts?: string[];
}

/** A fetch-shaped transport over one lazily opened HTTP/3 connection, with `close`. */
export type Http3Transport = ((request: Request) => Promise<Response>) & {
  close(): Promise<void>;
};

/**
 * A transport for the RPC client (`client/mod.ts`, `deno task call --http 3`): connects on the
 * first request and reuses the connection; `close()` ends it. `localhost` is dialled as
 * 127.0.0.1 (where the service listens) and still verified as "localhost".
 *
 * @example
 * ```ts
 * const transport = createHttp3Transport({ url: "https://localhost:8443", caCerts: [ca] });
 * const response = await transport(new Request("https://localhost:8443/healthz"));
 * await transport.close();
 * ```
 */
export function createHttp3Transport(options: Http3TransportOptions): Http3Transport {
  const url = new URL(options.url);
  if (url.protocol !== "https:") {
    throw new TypeError(`Cannot use HTTP/3: URL ${options.url} is not https`);
  }
  const serverName = url.hostname.replace(/^\[|\]$/g, "");
  const hostname = serverName === "localhost" ? "127.0.0.1" : serverName;
  const port = url.port === "" ? 443 : Number(url.port);
  let client: Promise<H3Client> | null = null;
  const connect = () => {
    client ??= H3Client.connect({ hostname, port, serverName, caCerts: options.caCerts });
    // A failed connect is retried by the next request.
    client.catch(() => (client = null));
    return client;
  };
  const transport = async (request: Request) => await (await connect()).fetch(request);
  transport.close = async () => {
    const pending = client;
    client = null;
    await (await pending?.catch(() => null))?.close();
  };
  return transport;
}
