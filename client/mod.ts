/**
 * The typed RPC client: binary (Cap'n Proto) by default, JSON optional; deadlines, batches;
 * HTTP/1.1 and HTTP/2 through `fetch` with a `Deno.HttpClient` (HTTP/3 plugs in through the
 * `transport` option). Answers may come compressed (zstd, gzip: answer_body.ts); a
 * side-effect-free method may be called with GET (`{ get: true }`), and the client then sends
 * If-None-Match for the answer it holds and takes a 304 from its tag cache (get_form.ts).
 *
 * @module
 */

import { ERROR_CODES, type ErrorCode, isErrorCode, RpcError } from "../errors/rpc_error.ts";
import { type ClientMethod, codecsOf, type ParamsOf, type ResultOf } from "./codecs.ts";
import { decodeBatch, decodeResponse, encodeRequest } from "./envelope.ts";
import { ANSWER_BYTES_MAX_DEFAULT, CLIENT_ACCEPT_ENCODING, readAnswerBody } from "./answer_body.ts";
import { getTarget, TagCache } from "./get_form.ts";

/** A transport: sends one request, returns its response (e.g. `fetch` bound to a client). */
export type Transport = (request: Request) => Promise<Response>;

/** Options of `RpcClient`. */
export interface RpcClientOptions {
  /** Base URL, e.g. `https://localhost:8443` (the client posts to `<url>/rpc/<method>`). */
  readonly url: string;
  /** HTTP version over TCP: 1 (HTTP/1.1) or 2 (h2, TLS only). Default 1. */
  readonly http?: 1 | 2;
  /** Wire form of calls: binary `capnp` (default) or `json`. */
  readonly wire?: "capnp" | "json";
  /** Extra trusted CA certificates (PEM text), e.g. the development CA. */
  readonly caCerts?: readonly string[];
  /** Bearer token sent as `Authorization`. */
  readonly token?: string;
  /** Default deadline of each call, sent as `Rpc-Timeout-Ms`. */
  readonly timeoutMs?: number;
  /** A replacement transport (the HTTP/3 client); when given, `http` and `caCerts` are unused. */
  readonly transport?: Transport;
  /** The largest decoded answer accepted; default 64 MiB. */
  readonly answerBytesMax?: number;
  /** GET answers remembered with their tags (for If-None-Match); default 256, 0 = none. */
  readonly tagCacheEntries?: number;
}

/** Per-call options. */
export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Call with GET (side-effect-free methods only; the server answers 405 otherwise): the
   * client sends If-None-Match for the answer it holds and returns that one on a 304.
   */
  readonly get?: boolean;
}

/** What a GET call answered (`RpcClient.get`). */
export interface GetOutcome<R> {
  /** 200: a fresh answer; 304: the held one is current. */
  readonly status: 200 | 304;
  /** The answer's entity tag, if it had one. */
  readonly etag: string | null;
  /** The result; on a 304 the one the client held, or undefined when it held none. */
  readonly result: R | undefined;
}

/** Per-call options of a GET. */
export interface GetOptions extends CallOptions {
  /** Sent as If-None-Match instead of the tag the client holds for this call. */
  readonly ifNoneMatch?: string;
}

/** One call of a batch: the method name and its params (TS values). */
export interface BatchCall {
  readonly method: string;
  readonly params: unknown;
}

/** Builds an RpcError from an `{"error":{...}}` JSON body (or a generic one). */
export function rpcErrorFromJson(value: unknown, httpStatus: number): RpcError {
  const e = (value as { error?: Record<string, unknown> } | null)?.error;
  const code = typeof e?.code === "string" && isErrorCode(e.code)
    ? e.code
    : codeForStatus(httpStatus);
  const message = typeof e?.message === "string" ? e.message : `HTTP ${httpStatus}`;
  const details = e?.details !== null && typeof e?.details === "object"
    ? e.details as Record<string, unknown>
    : undefined;
  return new RpcError(code, message, { details, httpStatus });
}

/** The error code an HTTP status maps to when the body says nothing. */
function codeForStatus(status: number): ErrorCode {
  for (const [code, { httpStatus }] of Object.entries(ERROR_CODES)) {
    if (httpStatus === status) return code as ErrorCode;
  }
  return "unknown";
}

/**
 * Calls the service.
 *
 * @example
 * ```ts
 * const client = new RpcClient({ url: "https://localhost:8443", caCerts: [caPem] });
 * const { payload } = await client.call("system.echo", { payload: new Uint8Array([1]) });
 * client.close();
 * ```
 */
export class RpcClient {
  readonly #url: string;
  readonly #wire: "capnp" | "json";
  readonly #token: string | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #httpClient: Deno.HttpClient | null;
  readonly #transport: Transport;
  readonly #answerBytesMax: number;
  readonly #tags: TagCache;
  #nextRequestId = 1;

  constructor(options: RpcClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`Cannot create client: unsupported URL scheme ${url.protocol}`);
    }
    if (options.http === 2 && url.protocol !== "https:") {
      throw new TypeError("Cannot create client: HTTP/2 needs an https URL");
    }
    this.#url = url.href.replace(/\/$/, "");
    this.#wire = options.wire ?? "capnp";
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
    this.#answerBytesMax = options.answerBytesMax ?? ANSWER_BYTES_MAX_DEFAULT;
    this.#tags = new TagCache(options.tagCacheEntries ?? 256);
    if (options.transport) {
      this.#httpClient = null;
      this.#transport = options.transport;
    } else {
      const h2 = options.http === 2;
      this.#httpClient = Deno.createHttpClient({
        caCerts: options.caCerts ? [...options.caCerts] : undefined,
        http1: !h2,
        http2: h2,
      });
      const client = this.#httpClient;
      this.#transport = (request) => fetch(request, { client });
    }
  }

  /** Calls `method` with `params` (TS values) and returns its result, or throws RpcError. */
  async call<R = unknown>(method: string, params: unknown, options: CallOptions = {}): Promise<R> {
    if (options.get) return (await this.get<R>(method, params, options)).result as R;
    if (this.#wire === "json") return await this.callJson(method, params, options) as R;
    return await this.#callBinary(method, params, options) as R;
  }

  /**
   * Calls a method the client knows, typed by its schema: params and result are the generated
   * TypeScript values (`ParamsOf<M>`, `ResultOf<M>`). Always the binary wire, whatever `wire`
   * says, since JSON forms differ from the TS values (bytes are base64 text in JSON).
   *
   * @example
   * ```ts
   * const { worknode } = await client.invoke("worknode.get", { id: "n1" });
   * console.log(worknode.version);
   * ```
   */
  async invoke<M extends ClientMethod>(
    method: M,
    params: ParamsOf<M>,
    options: CallOptions = {},
  ): Promise<ResultOf<M>> {
    codecsOf(method);
    if (options.get) {
      return (await this.#get(method, params, { ...options, wire: "capnp" })).result as ResultOf<M>;
    }
    return await this.#callBinary(method, params, options) as ResultOf<M>;
  }

  /**
   * Calls a side-effect-free `method` with GET in the client's wire: a 200 (whose tag the
   * client keeps with its answer), or a 304 when the answer the client held (or
   * `ifNoneMatch`) is current. Throws RpcError like `call`.
   *
   * @example
   * ```ts
   * const first = await client.get("worknode.get", { id: "n1" }); // status 200
   * const again = await client.get("worknode.get", { id: "n1" }); // 304 unless it changed
   * ```
   */
  async get<R = unknown>(
    method: string,
    params: unknown,
    options: GetOptions = {},
  ): Promise<GetOutcome<R>> {
    return await this.#get(method, params, { ...options, wire: this.#wire }) as GetOutcome<R>;
  }

  async #get(
    method: string,
    params: unknown,
    options: GetOptions & { readonly wire: "json" | "capnp" },
  ): Promise<GetOutcome<unknown>> {
    // Request id 0: the same call is the same URL, so caches (and the tag cache) can hit.
    const message = options.wire === "json"
      ? new TextEncoder().encode(JSON.stringify(params ?? {}))
      : encodeRequest(method, 0, params);
    const url = this.#url + getTarget(method, message, options.wire);
    const held = this.#tags.get(url);
    const headers = this.#headers(null, options);
    const ifNoneMatch = options.ifNoneMatch ?? held?.etag;
    if (ifNoneMatch !== undefined) headers.set("if-none-match", ifNoneMatch);
    const response = await this.#transport(
      new Request(url, { method: "GET", headers, signal: options.signal }),
    );
    const etag = response.headers.get("etag");
    if (response.status === 304) {
      await response.body?.cancel();
      const current = held !== undefined && held.etag === (etag ?? held.etag) ? held : undefined;
      const result = current === undefined
        ? undefined
        : this.#decode(method, current.contentType, current.body, 200, options.wire);
      return { status: 304, etag, result };
    }
    const body = await readAnswerBody(response, this.#answerBytesMax);
    const contentType = response.headers.get("content-type") ?? "";
    const result = this.#decode(method, contentType, body, response.status, options.wire);
    if (etag !== null) this.#tags.set(url, { etag, contentType, body });
    return { status: 200, etag, result };
  }

  /** A result from an answer's body, or throws its RpcError. */
  #decode(
    method: string,
    contentType: string,
    body: Uint8Array,
    status: number,
    wire: "json" | "capnp",
  ): unknown {
    if (wire === "capnp" && contentType.startsWith("application/capnp")) {
      return decodeResponse(method, body, status);
    }
    const value = parseJsonOrNull(body);
    if (status !== 200 || wire === "capnp") throw rpcErrorFromJson(value, status);
    return value;
  }

  /** Calls `method` over JSON with the params' JSON form; returns the result's JSON form. */
  async callJson(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    const body = new TextEncoder().encode(JSON.stringify(params ?? {}));
    const response = await this.#post(`/rpc/${method}`, "application/json", body, options);
    const value = parseJsonOrNull(await readAnswerBody(response, this.#answerBytesMax));
    if (!response.ok) throw rpcErrorFromJson(value, response.status);
    return value;
  }

  /** Sends a batch (binary); returns each call's result or RpcError, in order. */
  async batch(calls: readonly BatchCall[], options: CallOptions = {}): Promise<unknown[]> {
    const frames = calls.map((c) => encodeRequest(c.method, this.#nextRequestId++, c.params));
    const body = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((at, f) => (body.set(f, at), at + f.length), 0);
    const response = await this.#post("/rpc", "application/capnp", body, options);
    const bytes = await readAnswerBody(response, this.#answerBytesMax);
    if (!(response.headers.get("content-type") ?? "").startsWith("application/capnp")) {
      throw rpcErrorFromJson(parseJsonOrNull(bytes), response.status);
    }
    return decodeBatch(calls.map((c) => c.method), bytes);
  }

  /** Releases the HTTP client's connections (and the transport's, if it has `close`). */
  async close(): Promise<void> {
    this.#httpClient?.close();
    await (this.#transport as { close?: () => Promise<void> | void }).close?.();
  }

  /** One call on the binary wire: a framed RpcRequest out, a framed RpcResponse back. */
  async #callBinary(method: string, params: unknown, options: CallOptions): Promise<unknown> {
    const requestId = this.#nextRequestId++;
    const body = encodeRequest(method, requestId, params);
    const response = await this.#post(`/rpc/${method}`, "application/capnp", body, options);
    const bytes = await readAnswerBody(response, this.#answerBytesMax);
    if (!(response.headers.get("content-type") ?? "").startsWith("application/capnp")) {
      throw rpcErrorFromJson(parseJsonOrNull(bytes), response.status);
    }
    return decodeResponse(method, bytes, response.status);
  }

  async #post(
    path: string,
    contentType: string,
    body: Uint8Array<ArrayBuffer>,
    options: CallOptions,
  ): Promise<Response> {
    const request = new Request(this.#url + path, {
      method: "POST",
      headers: this.#headers(contentType, options),
      body,
      signal: options.signal,
    });
    return await this.#transport(request);
  }

  /**
   * A request's fields: the media type, the deadline, the token, and the codings the client
   * decodes itself (so `fetch` leaves coded bodies as they are: answer_body.ts).
   */
  #headers(contentType: string | null, options: CallOptions): Headers {
    const headers = new Headers({ "accept-encoding": CLIENT_ACCEPT_ENCODING });
    if (contentType !== null) headers.set("content-type", contentType);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (timeoutMs !== undefined) headers.set("rpc-timeout-ms", String(Math.ceil(timeoutMs)));
    if (this.#token !== undefined) headers.set("authorization", `Bearer ${this.#token}`);
    return headers;
  }
}

/** Parses a JSON body, or null when it is not JSON. */
function parseJsonOrNull(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export { CLIENT_METHODS, type ClientMethod, type ParamsOf, type ResultOf } from "./codecs.ts";
