/**
 * The direct RPC route of the HTTP/3 server: a `POST /rpc/<method>` request stream is served by
 * the transport-neutral call core (`rpc/call.ts`) without any `Request`, Hono context or
 * `Response` object (those were most of an HTTP/3 call's CPU time).
 *
 * Order (DESIGN invariants 1, 2 and 4): the method name from `:path` is looked up before any
 * DATA frame is read; an unknown one is answered 501 at once. A known one goes to `serveCall`,
 * whose `readBody` copies DATA frame payloads straight into the call's pool lease, bounded by
 * the limit, the declared length and the stall timeout; trailers are decoded to keep the QPACK
 * state in step. The answer leaves as HEADERS + one DATA frame copied from the answer's body
 * into one buffer, then FIN; the answer is released on every path.
 *
 * @module
 */

import { LeaseBodyWriter } from "../rpc/body.ts";
import {
  type CallAnswer,
  type CallBodyReadOptions,
  type CallHead,
  type CallInput,
  serveCall,
  unknownMethodAnswer,
} from "../rpc/call.ts";
import type { DispatchDeps } from "../rpc/dispatch.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { METHOD_ID_NONE } from "../rpc/registry.ts";
import { decodeRequestSection, type SectionDecodeContext } from "./_decode_section.ts";
import { H3Error } from "./errors.ts";
import { type Frame, FRAME_TYPE } from "./frame.ts";
import { encodeFieldSection } from "./qpack.ts";
import type { RequestHead } from "./request_head.ts";
import type { StreamInput } from "./stream_input.ts";
import { varintLength, writeVarint } from "./varint.ts";

/** The path prefix of a single call. */
const RPC_PATH_PREFIX = "/rpc/";

/**
 * The `<method>` of a `:path` that is exactly `/rpc/<method>` (query ignored), or null: an
 * empty segment, a `/` or `%` inside it, or a fragment leaves the request to the app's router.
 *
 * @example
 * ```ts
 * rpcPathMethod("/rpc/system.echo?x=1"); // "system.echo"
 * rpcPathMethod("/rpc/a%2Eb"); // null
 * ```
 */
export function rpcPathMethod(path: string): string | null {
  if (!path.startsWith(RPC_PATH_PREFIX)) return null;
  const start = RPC_PATH_PREFIX.length;
  let end = start;
  for (; end < path.length; end++) {
    const c = path.charCodeAt(end);
    if (c === 0x3f) break; // '?': the query is not part of the name.
    if (c === 0x2f || c === 0x25 || c === 0x23) return null; // '/', '%', '#'
  }
  return end === start ? null : path.slice(start, end);
}

/** What the route needs from its request stream. */
export interface RpcRouteContext extends SectionDecodeContext {
  /** The stall timeout, and the HTTP/3 layer's own body limit (the method's may be lower). */
  readonly limits: { readonly stallTimeoutMs: number; readonly bodyBytesMax: number };
  /** The call core's per-transport deps (request log transport "h3", extra headers). */
  readonly deps: DispatchDeps;
  /** Encodes answer heads with the deps' extra headers. */
  readonly answerHeads: AnswerHeadEncoder;
}

/**
 * One call's input over a request stream; also the stream's abort target (the connection
 * aborts it when it goes away). The client's AbortSignal is made only when a handler turns out
 * to be asynchronous and asks for it.
 *
 * @example
 * ```ts
 * const call = new H3CallInput(input, head, { context, streamId });
 * context.requestAborts.add(call); // the connection calls call.abort(reason) when it closes
 * const answer = await serveCall(methodId, call, deps);
 * ```
 */
export class H3CallInput implements CallInput {
  readonly head: CallHead;
  readonly #input: StreamInput;
  readonly #context: RpcRouteContext;
  readonly #streamId: number;
  #controller: AbortController | null = null;
  #abortReason: unknown = undefined;
  #aborted = false;
  /** A connection-scope error met while reading the body: the connection must close. */
  connectionError: H3Error | null = null;
  /**
   * The body was not all at hand with the HEADERS: frames were awaited (a read or a blocked
   * trailer section may still hold views of the stream's read buffers).
   */
  bodyReadAsync = false;

  constructor(
    input: StreamInput,
    head: RequestHead,
    options: { context: RpcRouteContext; streamId: number },
  ) {
    this.#input = input;
    this.#context = options.context;
    this.#streamId = options.streamId;
    let callHead = callHeads.get(head);
    if (callHead === undefined) {
      callHead = callHeadOf(head);
      callHeads.set(head, callHead);
    }
    this.head = callHead;
  }

  /** Aborts the client signal (the connection closed). */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  clientSignal(): AbortSignal | null {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /**
   * Copies DATA pieces into the lease until the declared length or FIN. A declared body that
   * arrived whole with its HEADERS (the usual small call) gives its length at once, without a
   * promise, so the call can run synchronously (see serveCall).
   */
  readBody(target: Uint8Array, options: CallBodyReadOptions): number | Promise<number> {
    const limitBytes = Math.min(options.limitBytes, this.#context.limits.bodyBytesMax);
    const declared = options.declaredBytes;
    let frame: Frame | undefined;
    try {
      frame = this.#input.bufferedFrame();
    } catch (error) {
      if (error instanceof H3Error && error.scope === "connection") this.connectionError = error;
      throw error;
    }
    if (declared !== null && frame?.type === "data" && frame.bytes.length === declared) {
      // Within the limit and the lease: one copy and no writer object; otherwise the writer
      // throws its errors (413, or a limit past the lease).
      if (
        Number.isSafeInteger(limitBytes) && declared <= limitBytes && limitBytes <= target.length
      ) {
        target.set(frame.bytes);
      } else new LeaseBodyWriter(target, limitBytes).write(frame.bytes);
      return declared;
    }
    this.bodyReadAsync = true;
    return this.#readFrames(new LeaseBodyWriter(target, limitBytes), options, frame);
  }

  /**
   * The rest of a body, frame by frame (`first`: a frame already taken from the input). Each
   * iteration consumes one frame or piece; StreamInput bounds the reads and the writer bounds
   * the bytes.
   */
  async #readFrames(
    writer: LeaseBodyWriter,
    options: CallBodyReadOptions,
    first: Frame | undefined,
  ): Promise<number> {
    const declared = options.declaredBytes;
    const input = this.#input;
    let pending = first;
    try {
      for (;;) {
        if (declared !== null && writer.lengthBytes === declared) return declared;
        // Bytes already read are taken without an await.
        const frame = pending ?? input.bufferedFrame() ??
          await options.call.race(input.nextFrame());
        pending = undefined;
        if (frame === null) break;
        if (frame.type === "headers") {
          // Trailers: decoded (QPACK state), not used.
          await options.call.race(
            decodeRequestSection(frame.fieldSection, this.#streamId, this.#context),
          );
          continue;
        }
        if (frame.type !== "data") continue;
        if (declared !== null && writer.lengthBytes + frame.bytes.length > declared) {
          throw lengthMismatch(writer.lengthBytes + frame.bytes.length, declared);
        }
        writer.write(frame.bytes);
      }
    } catch (error) {
      if (error instanceof H3Error && error.scope === "connection") this.connectionError = error;
      throw error;
    }
    if (declared !== null && writer.lengthBytes !== declared) {
      throw lengthMismatch(writer.lengthBytes, declared);
    }
    return writer.lengthBytes;
  }
}

function lengthMismatch(receivedBytes: number, declaredBytes: number): RpcError {
  return new RpcError(
    "invalid_argument",
    `Cannot read body: got ${receivedBytes} bytes, Content-Length said ${declaredBytes}`,
  );
}

/**
 * The call heads of request heads: a connection reuses one parsed head for every request that
 * sent the same field section (section_cache.ts), and so one call head.
 */
const callHeads = new WeakMap<RequestHead, CallHead>();

/** The header values a call needs; repeated fields are joined with ", " as `Headers` does. */
function callHeadOf(head: RequestHead): CallHead {
  let contentType: string | null = null;
  let rpcTimeoutMs: string | null = null;
  let authorization: string | null = null;
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (name === "content-type") contentType = joined(contentType, value);
    else if (name === "rpc-timeout-ms") rpcTimeoutMs = joined(rpcTimeoutMs, value);
    else if (name === "authorization") authorization = joined(authorization, value);
  }
  const declared = head.contentLengthBytes;
  return {
    contentType,
    contentLength: declared === null ? null : String(declared),
    rpcTimeoutMs,
    authorization,
  };
}

function joined(previous: string | null, value: string): string {
  return previous === null ? value : `${previous}, ${value}`;
}

/**
 * Serves one `POST /rpc/<method>` request stream whose HEADERS were read: lookup, call, answer,
 * FIN. Rejects with a connection-scope H3Error (after releasing the answer) when the body broke
 * the protocol, and with the transport's error when the answer cannot be written.
 *
 * @example
 * ```ts
 * const call = new H3CallInput(input, head, { context, streamId });
 * await serveRpcRoute(method, call, { writer, context });
 * ```
 */
export async function serveRpcRoute(
  method: string,
  call: H3CallInput,
  options: { writer: WritableStreamDefaultWriter<Uint8Array>; context: RpcRouteContext },
): Promise<void> {
  const deps = options.context.deps;
  const methodId = deps.registry.lookup(method);
  let answer: CallAnswer;
  if (methodId === METHOD_ID_NONE) answer = unknownMethodAnswer(call.head.contentType, deps);
  else {
    // A synchronous call (buffered body, synchronous handler) is answered without a hop.
    const outcome = serveCall(methodId, call, deps);
    answer = outcome instanceof Promise ? await outcome : outcome;
  }
  let bytes: Uint8Array;
  const spare = spareOutputs.pop() ?? new Uint8Array(SPARE_OUTPUT_BYTES);
  try {
    if (call.connectionError !== null) throw call.connectionError;
    bytes = options.context.answerHeads.headersAndData(answer, spare);
  } finally {
    answer.release();
  }
  const writer = options.writer;
  // close() waits for the write; a failed write fails the close too.
  writer.write(bytes).catch(() => {});
  await writer.close();
  // The write has completed (close resolved after it), so the transport is done with the
  // buffer; a failed close drops it instead. A detached buffer (length 0) is never kept.
  if (spare.byteLength === SPARE_OUTPUT_BYTES && spareOutputs.length < SPARE_OUTPUT_COUNT_MAX) {
    spareOutputs.push(spare);
  }
}

/** The size of the reused answer buffers: a small answer's HEADERS + DATA fit in one. */
const SPARE_OUTPUT_BYTES = 4096;
/** Bounds the spare answer buffers (at most 64 x 4 KiB per process). */
const SPARE_OUTPUT_COUNT_MAX = 64;
/**
 * Spare answer buffers: a small answer is written into one and the buffer is reused once its
 * write completed, instead of a fresh buffer (outside the JS heap) per answer.
 */
const spareOutputs: Uint8Array[] = [];

/** Bounds the cached answer heads (statuses x content types seen). */
const ANSWER_HEAD_COUNT_MAX = 64;

/** `content-length` is static-table entry 4 (RFC 9204 Appendix A). */
const CONTENT_LENGTH_STATIC_INDEX = 4;

/**
 * Encodes answers as HEADERS + DATA frames in one buffer. The field section's fixed part
 * (`:status`, content-type, the extra headers) is encoded once per status and content type;
 * only `content-length` (a literal with a static name reference) is written per answer.
 *
 * @example
 * ```ts
 * const heads = new AnswerHeadEncoder([["alt-svc", 'h3=":443"']]);
 * const bytes = heads.headersAndData(answer);
 * ```
 */
export class AnswerHeadEncoder {
  readonly #extraHeaders: readonly (readonly [string, string])[];
  readonly #cache = new Map<number, Map<string, Uint8Array>>();
  #cachedCount = 0;

  constructor(extraHeaders: readonly (readonly [string, string])[] = []) {
    this.#extraHeaders = extraHeaders;
  }

  /**
   * HEADERS (with content-length) + one DATA frame holding a copy of the answer's body: a view
   * of `spare` when they fit in it, else a new buffer.
   */
  headersAndData(answer: CallAnswer, spare: Uint8Array | null = null): Uint8Array {
    const fixed = this.#fixedSection(answer);
    const body = answer.body;
    const lengthDigits = String(body.length);
    // The content-length line: 0101 index(4) (fits: 4 < 15), then a 7-bit-prefixed plain
    // string of at most 16 digits (fits the prefix: 16 < 127).
    const sectionBytes = fixed.length + 2 + lengthDigits.length;
    const headersFrameBytes = varintLength(FRAME_TYPE.HEADERS) + varintLength(sectionBytes);
    const dataFrameBytes = varintLength(FRAME_TYPE.DATA) + varintLength(body.length);
    const outBytes = headersFrameBytes + sectionBytes + dataFrameBytes + body.length;
    const out = spare !== null && outBytes <= spare.length
      ? spare.subarray(0, outBytes)
      : new Uint8Array(outBytes);
    let offset = writeVarint(out, writeVarint(out, 0, FRAME_TYPE.HEADERS), sectionBytes);
    out.set(fixed, offset);
    offset += fixed.length;
    out[offset++] = 0x50 | CONTENT_LENGTH_STATIC_INDEX;
    out[offset++] = lengthDigits.length;
    for (let i = 0; i < lengthDigits.length; i++) out[offset++] = lengthDigits.charCodeAt(i);
    offset = writeVarint(out, writeVarint(out, offset, FRAME_TYPE.DATA), body.length);
    out.set(body, offset);
    return out;
  }

  /** The encoded prefix + fixed lines of an answer's field section. */
  #fixedSection(answer: CallAnswer): Uint8Array {
    if (answer.retryAfterSeconds !== null) return this.#encode(answer);
    let byType = this.#cache.get(answer.status);
    const cached = byType?.get(answer.contentType);
    if (cached !== undefined) return cached;
    const section = this.#encode(answer);
    if (this.#cachedCount >= ANSWER_HEAD_COUNT_MAX) {
      this.#cache.clear();
      this.#cachedCount = 0;
      byType = undefined;
    }
    if (byType === undefined) {
      byType = new Map();
      this.#cache.set(answer.status, byType);
    }
    byType.set(answer.contentType, section);
    this.#cachedCount++;
    return section;
  }

  #encode(answer: CallAnswer): Uint8Array {
    const lines: [string, string][] = [
      [":status", String(answer.status)],
      ["content-type", answer.contentType],
    ];
    if (answer.retryAfterSeconds !== null) {
      lines.push(["retry-after", String(answer.retryAfterSeconds)]);
    }
    for (const [name, value] of this.#extraHeaders) lines.push([name, value]);
    return encodeFieldSection(lines);
  }
}
