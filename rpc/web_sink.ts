/**
 * The answer sink of a call that a browser or a cache makes (web_policy.ts): it sits between the
 * call and the transport's sink, compresses a large 200 answer into a pool block in the coding
 * the request accepts, and adds the web fields (CORS grant, Vary, Cache-Control) to every answer
 * — refusals, errors and 304s included. Made only for calls that need it; a plain POST without
 * `Origin` and `Accept-Encoding` answers straight into the transport's sink.
 *
 * Compression keeps the memory promise (docs/design.md, "Compression"): the coded answer is
 * written into a second block of the answer's class, and the coding is dropped (the answer goes
 * out as it is) when no such block is free or the coded form would not be smaller. Nothing is
 * buffered outside the pool but the one engine of each coding (zlib_engine.ts).
 *
 * @module
 */

import { Answer, type AnswerSink, type CallAnswer, type HeaderPairs } from "./answer.ts";
import type { AnswerCoding } from "./content_coding.ts";
import type { PoolLike } from "./method.ts";
import type { WebFields } from "./web_policy.ts";
import { compressInto, NO_GAIN } from "./zlib_engine.ts";

/** `content-encoding` per coding, shared. */
const CODING_FIELDS: Readonly<Record<AnswerCoding, HeaderPairs>> = Object.freeze({
  zstd: Object.freeze([Object.freeze(["content-encoding", "zstd"] as const)]),
  gzip: Object.freeze([Object.freeze(["content-encoding", "gzip"] as const)]),
});

/** `a` then `b`, sharing either when the other is empty (transports cache per array). */
function joined(a: HeaderPairs, b: HeaderPairs): HeaderPairs {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return Object.freeze([...a, ...b]);
}

/** An answer with more fields; its body and release are the inner answer's. */
class FieldsAnswer implements CallAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly fields: HeaderPairs;
  readonly body: Uint8Array;
  readonly #inner: CallAnswer;

  constructor(inner: CallAnswer, fields: HeaderPairs) {
    this.#inner = inner;
    this.status = inner.status;
    this.contentType = inner.contentType;
    this.body = inner.body;
    this.fields = fields;
  }

  release(): void {
    this.#inner.release();
  }
}

/**
 * `answer` in `coding` when that is worth it: a 200 whose body is a pool block of at least
 * `minBytes`, coded into a second block that ends one byte short of the body (so the coded form
 * is smaller); otherwise `answer` itself.
 *
 * @example
 * ```ts
 * const sent = compressAnswer(answer, { coding: "gzip", minBytes: 1024, pool });
 * ```
 */
export function compressAnswer(
  answer: CallAnswer,
  options: { readonly coding: AnswerCoding; readonly minBytes: number; readonly pool: PoolLike },
): CallAnswer {
  const body = answer.body;
  if (
    answer.status !== 200 || body.length < options.minBytes || body.length < 2 ||
    !(answer instanceof Answer) || !answer.leased
  ) {
    return answer;
  }
  const lease = options.pool.tryAcquire(body.length);
  if (lease === null) return answer;
  let coded: number;
  try {
    coded = compressInto(options.coding, body, lease.bytes.subarray(0, body.length - 1));
  } catch (error) {
    console.error("rpc: compressing an answer failed:", error);
    coded = NO_GAIN;
  }
  if (coded === NO_GAIN) {
    lease.release();
    return answer;
  }
  const fields = joined(answer.fields, CODING_FIELDS[options.coding]);
  answer.release();
  return new Answer(200, answer.contentType, lease.bytes.subarray(0, coded), { fields, lease });
}

/** What a web sink adds to a call's answers. */
export interface WebSinkOptions {
  /** The web fields of the requester (null: none). */
  readonly fields: WebFields | null;
  /** The call is a GET (its answers get the GET fields). */
  readonly get: boolean;
  /** The coding a large answer is sent in (null: none). */
  readonly coding: AnswerCoding | null;
  readonly minBytes: number;
  readonly pool: PoolLike;
}

/**
 * A call's sink for a browser or a cache.
 *
 * @example
 * ```ts
 * const sink = new WebSink(transportSink, { fields, get: true, coding: "zstd", minBytes, pool });
 * ```
 */
export class WebSink implements AnswerSink {
  readonly #inner: AnswerSink;
  readonly #options: WebSinkOptions;

  constructor(inner: AnswerSink, options: WebSinkOptions) {
    this.#inner = inner;
    this.#options = options;
  }

  answer(answer: CallAnswer): void {
    const options = this.#options;
    let sent = answer;
    if (options.coding !== null) {
      sent = compressAnswer(answer, {
        coding: options.coding,
        minBytes: options.minBytes,
        pool: options.pool,
      });
    }
    const web = options.fields;
    if (web !== null) {
      const ok = sent.status === 200 || sent.status === 304;
      const extra = !options.get ? web.post : ok ? web.getOk : web.getError;
      if (extra.length > 0) sent = new FieldsAnswer(sent, joined(sent.fields, extra));
    }
    this.#inner.answer(sent);
  }
}
