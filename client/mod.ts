/**
 * The typed RPC client: binary (Cap'n Proto) by default, JSON optional; deadlines, batches;
 * HTTP/1.1 and HTTP/2 through `fetch` with a `Deno.HttpClient` (HTTP/3 plugs in through the
 * `transport` option).
 *
 * @module
 */

import { ERROR_CODES, type ErrorCode, isErrorCode, RpcError } from "../errors/rpc_error.ts";
import { type ClientMethod, codecsOf, type ParamsOf, type ResultOf } from "./codecs.ts";
import { decodeBatch, decodeResponse, encodeRequest } from "./envelope.ts";

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
}

/** Per-call options. */
export interface CallOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
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
    return await this.#callBinary(method, params, options) as ResultOf<M>;
  }

  /** Calls `method` over JSON with the params' JSON form; returns the result's JSON form. */
  async callJson(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    const body = new TextEncoder().encode(JSON.stringify(params ?? {}));
    const response = await this.#post(`/rpc/${method}`, "application/json", body, options);
    const value = parseJsonOrNull(new Uint8Array(await response.arrayBuffer()));
    if (!response.ok) throw rpcErrorFromJson(value, response.status);
    return value;
  }

  /** Sends a batch (binary); returns each call's result or RpcError, in order. */
  async batch(calls: readonly BatchCall[], options: CallOptions = {}): Promise<unknown[]> {
    const frames = calls.map((c) => encodeRequest(c.method, this.#nextRequestId++, c.params));
    const body = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((at, f) => (body.set(f, at), at + f.length), 0);
    const response = await this.#post("/rpc", "application/capnp", body, options);
    const bytes = new Uint8Array(await response.arrayBuffer());
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
    const bytes = new Uint8Array(await response.arrayBuffer());
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
    const headers = new Headers({ "content-type": contentType });
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (timeoutMs !== undefined) headers.set("rpc-timeout-ms", String(Math.ceil(timeoutMs)));
    if (this.#token !== undefined) headers.set("authorization", `Bearer ${this.#token}`);
    const request = new Request(this.#url + path, {
      method: "POST",
      headers,
      body,
      signal: options.signal,
    });
    return await this.#transport(request);
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
