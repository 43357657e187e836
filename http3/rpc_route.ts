/**
 * The HTTP/3 adapter onto the call core: a request stream whose `:path` is in the /rpc namespace
 * (rpc/route.ts) is opened in the core (`CallCore.open`) with the few fields it needs, its DATA
 * frame payloads are pushed into the call, and the answer the core hands back leaves as HEADERS +
 * one DATA frame, then FIN. No `Request`, Hono context or `Response` is made; lookup, auth, the
 * limits, the lease, the body's declared length and stall timeout, the deadline and the answer's
 * bytes are all the core's.
 *
 * A body that arrived whole with its HEADERS (the usual small call) is pushed without a promise,
 * so a synchronous handler answers in the same turn. Trailers are decoded to keep the QPACK state
 * in step and dropped. A connection-scope protocol error met while reading the body aborts the
 * call and closes the connection; a stream-scope one is answered 400.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import { answerHasContent, type AnswerSink, type CallAnswer } from "../rpc/answer.ts";
import { CallHead } from "../rpc/call_head.ts";
import type { CallBody, CallCore } from "../rpc/core.ts";
import type { ShareAccount } from "../rpc/fair_share.ts";
import { httpMethodCode } from "../rpc/route.ts";
import { decodeRequestSection, type SectionDecodeContext } from "./_decode_section.ts";
import { H3Error } from "./errors.ts";
import { type Frame, FRAME_TYPE } from "./frame.ts";
import { encodeFieldSection } from "./qpack.ts";
import type { RequestHead } from "./request_head.ts";
import type { StreamInput } from "./stream_input.ts";
import { varintLength, writeVarint } from "./varint.ts";

/** What the route needs from its request stream. */
export interface RpcRouteContext extends SectionDecodeContext {
  /** The one call core. */
  readonly core: CallCore;
  /** Encodes answer heads (the listener's extra fields). */
  readonly answerHeads: AnswerHeadEncoder;
  /** The connection's fair-share account. */
  readonly share: ShareAccount;
}

/**
 * The call heads of request heads: a connection reuses one parsed head for every request that
 * sent the same field section (section_cache.ts), and so one call head (its target bytes copied
 * once).
 */
const callHeads = new WeakMap<RequestHead, CallHead>();

/**
 * The call head of a request head whose `:path` matched the /rpc namespace (`nameEnd` from
 * `matchRpcPath`, its bytes in `rpcTargetScratch()`).
 */
function callHeadOf(head: RequestHead, nameEnd: number, share: ShareAccount): CallHead {
  let callHead = callHeads.get(head);
  if (callHead !== undefined) return callHead;
  callHead = new CallHead("h3");
  // A request head is cached per connection (its section cache), so its call head is too.
  callHead.share = share;
  callHead.methodCode = httpMethodCode(head.method);
  callHead.setTargetFromPath(nameEnd, head.path.length);
  for (const [name, value] of head.headers) callHead.readField(name, value);
  callHead.contentLengthBytes = head.contentLengthBytes ?? -1;
  callHeads.set(head, callHead);
  return callHead;
}

/**
 * One call over a request stream: the core's answer sink, and the stream's abort target (the
 * connection aborts it when it goes away).
 */
export class H3Call implements AnswerSink {
  #answer: CallAnswer | null = null;
  #failure: unknown = null;
  #waiter: PromiseWithResolvers<CallAnswer> | null = null;
  #body: CallBody | null = null;
  #aborted = false;
  /** The body was not all at hand with the HEADERS (a read may still view the read buffers). */
  bodyReadAsync = false;

  answer(answer: CallAnswer): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter !== null) waiter.resolve(answer);
    else this.#answer = answer;
  }

  /** The call will get no answer: the connection closed, or a connection error. */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#body?.abort(reason);
    this.#failure = reason ?? new Error("the connection closed");
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(this.#failure);
  }

  /** The answer, once the core gave it; rejects when the call was aborted. */
  answered(): CallAnswer | Promise<CallAnswer> {
    const answer = this.#answer;
    if (answer !== null) {
      this.#answer = null;
      return answer;
    }
    if (this.#aborted) return Promise.reject(this.#failure);
    this.#waiter = Promise.withResolvers<CallAnswer>();
    return this.#waiter.promise;
  }

  /** Opens the call and pushes its body (synchronously when it is at hand). */
  open(
    head: RequestHead,
    nameEnd: number,
    options: { input: StreamInput; context: RpcRouteContext; streamId: number },
  ): void {
    const context = options.context;
    const body = context.core.open(callHeadOf(head, nameEnd, context.share), this);
    if (body === null) return;
    this.#body = body;
    if (this.#aborted) body.abort();
    else pushBody(this, body, head.contentLengthBytes ?? -1, options);
  }
}

/**
 * Pushes DATA payloads into the call until the declared length or FIN. Frames already read are
 * taken without an await; returns undefined when the whole body was at hand.
 */
function pushBody(
  call: H3Call,
  body: CallBody,
  declaredBytes: number,
  options: { input: StreamInput; context: RpcRouteContext; streamId: number },
): Promise<void> | undefined {
  let pending: Frame | undefined;
  try {
    // Each pass takes one buffered frame; the input holds a bounded number of bytes.
    for (;;) {
      if (declaredBytes >= 0 && body.wantBytes === 0) {
        body.end();
        return undefined;
      }
      const frame = options.input.bufferedFrame();
      if (frame === undefined) break;
      if (frame.type === "headers") {
        pending = frame; // Trailers need an (asynchronous) QPACK decode.
        break;
      }
      if (!pushFrame(body, frame)) return undefined;
    }
  } catch (error) {
    failed(call, body, error);
    return undefined;
  }
  call.bodyReadAsync = true;
  return pushRest(call, body, declaredBytes, { ...options, pending });
}

/** One frame of the body: DATA pushed, FIN ends it; false once the call takes no more. */
function pushFrame(body: CallBody, frame: Frame | null): boolean {
  if (frame === null) {
    body.end();
    return false;
  }
  if (frame.type === "data") return body.push(frame.bytes);
  return body.accepting;
}

/** The rest of a body, frame by frame; StreamInput bounds the reads, the call the bytes. */
async function pushRest(
  call: H3Call,
  body: CallBody,
  declaredBytes: number,
  options: {
    input: StreamInput;
    context: RpcRouteContext;
    streamId: number;
    pending: Frame | undefined;
  },
): Promise<void> {
  const input = options.input;
  let pending = options.pending;
  try {
    // Each pass consumes one frame or ends; the call's limit and stall timeout bound it.
    while (body.accepting) {
      if (declaredBytes >= 0 && body.wantBytes === 0) {
        body.end();
        return;
      }
      const frame = pending ?? input.bufferedFrame() ?? await input.nextFrame();
      pending = undefined;
      if (frame?.type === "headers") {
        // Trailers: decoded (QPACK state), not used.
        await decodeRequestSection(frame.fieldSection, options.streamId, options.context);
        continue;
      }
      if (!pushFrame(body, frame)) return;
    }
  } catch (error) {
    failed(call, body, error);
  }
}

/**
 * A read failure: a stream-scope protocol error is answered 400; a connection-scope one, or the
 * stream failing, aborts the call (`serveRpcRoute` then rejects with it).
 */
function failed(call: H3Call, body: CallBody, error: unknown): void {
  if (error instanceof H3Error && error.scope === "stream") {
    body.fail(new RpcError("invalid_argument", `Cannot read body: ${error.message}`));
  } else call.abort(error);
}

/**
 * Serves one request stream whose HEADERS named the /rpc namespace: opens the call, pushes its
 * body, writes the answer, FIN. Rejects with a connection-scope H3Error (after releasing the
 * answer) when the body broke the protocol, and with the transport's error when the answer
 * cannot be written.
 *
 * @example
 * ```ts
 * const call = new H3Call();
 * await serveRpcRoute(call, head, { nameEnd, input, writer, context, streamId });
 * ```
 */
export async function serveRpcRoute(
  call: H3Call,
  head: RequestHead,
  options: {
    nameEnd: number;
    input: StreamInput;
    writer: WritableStreamDefaultWriter<Uint8Array>;
    context: RpcRouteContext;
    streamId: number;
  },
): Promise<void> {
  // The body is pushed on its own (synchronously when at hand); the answer may come before the
  // body ends (a refusal, a deadline, a stalled body): it is written at once either way.
  call.open(head, options.nameEnd, options);
  const outcome = call.answered();
  const answer = outcome instanceof Promise ? await outcome : outcome;
  let bytes: Uint8Array;
  const spare = spareOutputs.pop() ?? new Uint8Array(SPARE_OUTPUT_BYTES);
  try {
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

/** One HEADERS frame of `section`: an answer without content (204, 304) has no DATA frame. */
function headersOnly(section: Uint8Array): Uint8Array {
  const start = varintLength(FRAME_TYPE.HEADERS) + varintLength(section.length);
  const out = new Uint8Array(start + section.length);
  writeVarint(out, writeVarint(out, 0, FRAME_TYPE.HEADERS), section.length);
  out.set(section, start);
  return out;
}

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
   * of `spare` when they fit in it, else a new buffer. An answer without content (204, 304)
   * is its HEADERS alone.
   */
  headersAndData(answer: CallAnswer, spare: Uint8Array | null = null): Uint8Array {
    const fixed = this.#fixedSection(answer);
    if (!answerHasContent(answer.status)) return headersOnly(fixed);
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
    if (answer.fields.length > 0) return this.#encode(answer);
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
    const lines: [string, string][] = [[":status", String(answer.status)]];
    if (answer.contentType !== "") lines.push(["content-type", answer.contentType]);
    for (const [name, value] of answer.fields) lines.push([name, value]);
    for (const [name, value] of this.#extraHeaders) lines.push([name, value]);
    return encodeFieldSection(lines);
  }
}
