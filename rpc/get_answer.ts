/**
 * The answer of a GET call: the result's 200 with its entity tag, or a 304 without a body when
 * the request's `If-None-Match` holds the current tag (rpc/etag.ts). A method that derives its
 * tag from its result (`MethodSpec.etag`) is answered 304 before its result is encoded; any
 * other is tagged by a hash of its encoded answer, whose block is released at once on a 304.
 *
 * @module
 */

import { Answer, type CallAnswer, type HeaderPairs } from "./answer.ts";
import { encodeResultAnswer } from "./call_codec.ts";
import { hashBytesHex, ifNoneMatchHits, weakTag } from "./etag.ts";

const EMPTY = new Uint8Array(0);

function tagFields(tag: string): HeaderPairs {
  return Object.freeze([Object.freeze(["etag", tag] as const)]);
}

/** The 304 of `tag`: no content, no content type. */
function notModified(tag: string): CallAnswer {
  return new Answer(304, "", EMPTY, { fields: tagFields(tag) });
}

/**
 * The answer of a GET call's result.
 *
 * @example
 * ```ts
 * const answer = encodeGetAnswer(result, { wire, spec, requestId, binary, services, ifNoneMatch });
 * answer.status; // 200, or 304 when ifNoneMatch holds the current tag
 * ```
 */
export function encodeGetAnswer(
  result: unknown,
  options: Parameters<typeof encodeResultAnswer>[1] & { readonly ifNoneMatch: string | null },
): CallAnswer {
  const spec = options.spec;
  if (spec.etag !== undefined) {
    const tag = weakTag(options.wire, spec.etag(result));
    if (ifNoneMatchHits(options.ifNoneMatch, tag)) return notModified(tag);
    return encodeResultAnswer(result, options).withFields(tagFields(tag));
  }
  const answer = encodeResultAnswer(result, options);
  const tag = weakTag(options.wire, hashBytesHex(answer.body));
  if (!ifNoneMatchHits(options.ifNoneMatch, tag)) return answer.withFields(tagFields(tag));
  answer.release();
  return notModified(tag);
}
