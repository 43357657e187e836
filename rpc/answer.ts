/**
 * What the call core hands a transport: an answer (status, content type, a few header fields, a
 * body that may view a pool block) and the sink it is handed to. A transport writes the answer in
 * its own framing (an HTTP/1.1 head, HTTP/2 or HTTP/3 HEADERS + DATA), then releases it.
 *
 * @module
 */

import type { LeaseLike } from "./method.ts";

/** Header fields as (lower-case name, value) pairs; shared arrays, never mutated. */
export type HeaderPairs = readonly (readonly [string, string])[];

/** No header field. */
export const NO_HEADERS: HeaderPairs = Object.freeze([]);

/**
 * Whether an answer of `status` has content: a 204 (a preflight) or a 304 (a validated GET)
 * has none, and a transport then writes neither Content-Length nor a body (RFC 9110 sections
 * 8.6, 15.3.5 and 15.4.5). Their `contentType` is "" (no Content-Type either).
 *
 * @example
 * ```ts
 * answerHasContent(304); // false
 * ```
 */
export function answerHasContent(status: number): boolean {
  return status !== 204 && status !== 304;
}

/** A call's answer: write `status`, `contentType`, `fields` and `body`, then `release()`. */
export interface CallAnswer {
  /** HTTP status: 200, or the error's status. */
  readonly status: number;
  /** `application/capnp` or `application/json`; "" for an answer without content (204, 304). */
  readonly contentType: string;
  /**
   * Fields besides content-type and content-length (retry-after, allow, etag, vary, the CORS
   * grant, content-encoding): a frozen array, often shared, so a transport may cache what it
   * encodes per array.
   */
  readonly fields: HeaderPairs;
  /** Heap bytes or a view of a pool lease; valid until `release()`. Never mutate or detach it. */
  readonly body: Uint8Array;
  /** Returns the answer's block (if any) to the pool. Idempotent. */
  release(): void;
}

/** Where the core delivers a call's answer. */
export interface AnswerSink {
  /**
   * The answer of a call the transport opened: called exactly once, synchronously inside
   * `CallCore.open`, `CallBody.push`/`commit`/`end` when the answer is known then, or later
   * (an asynchronous handler, a deadline, a stalled body). Never called after the transport
   * aborted the call.
   */
  answer(answer: CallAnswer): void;
}

/** An answer over heap bytes or a lease; `release` returns the lease once. */
export class Answer implements CallAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly fields: HeaderPairs;
  readonly body: Uint8Array;
  #lease: LeaseLike | null;

  constructor(
    status: number,
    contentType: string,
    body: Uint8Array,
    options: { readonly fields?: HeaderPairs; readonly lease?: LeaseLike | null } = {},
  ) {
    this.status = status;
    this.contentType = contentType;
    this.fields = options.fields ?? NO_HEADERS;
    this.body = body;
    this.#lease = options.lease ?? null;
  }

  /** Whether the body views a pool block this answer holds (not yet released). */
  get leased(): boolean {
    return this.#lease !== null;
  }

  /**
   * The same answer with `fields`, holding this one's block from now on (this one then holds
   * none: releasing it does nothing).
   *
   * @example
   * ```ts
   * const tagged = answer.withFields(Object.freeze([["etag", 'W/"j.1"'] as const]));
   * ```
   */
  withFields(fields: HeaderPairs): Answer {
    const lease = this.#lease;
    this.#lease = null;
    return new Answer(this.status, this.contentType, this.body, { fields, lease });
  }

  release(): void {
    const lease = this.#lease;
    this.#lease = null;
    lease?.release();
  }
}
