/**
 * The call core's two ends of a method: params decoded from the request bytes (JSON or a framed
 * Cap'n Proto RpcRequest, under the method's read limits) and the result encoded into a pool
 * lease (the answer's body views it until the transport has written it).
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import { Answer } from "./answer.ts";
import type { BinaryWire } from "./binary_wire.ts";
import { checkJsonListLengths } from "./json_list_lengths.ts";
import { MEDIA_TYPES, type WireKind } from "./media_type.ts";
import type { AnyMethodSpec, LeaseLike, MethodReadLimits, Services } from "./method.ts";

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * Maps anything thrown to an RpcError: RpcErrors pass through, a decoder's or validator's
 * TypeError/RangeError becomes invalid_argument when `inputError` is true, the rest internal
 * (the detail goes to the server log only; the client sees a generic message).
 *
 * @example
 * ```ts
 * const error = toRpcError(thrown, false);
 * ```
 */
export function toRpcError(
  error: unknown,
  inputError: boolean,
  options: { quiet?: boolean } = {},
): RpcError {
  if (error instanceof RpcError) return error;
  if (inputError) {
    const message = error instanceof Error ? error.message : String(error);
    return new RpcError("invalid_argument", message, { cause: error });
  }
  if (!options.quiet) console.error("rpc: handler failed:", error);
  return new RpcError("internal", "Internal error", { cause: error });
}

/** A call's params as decoded, with the binary envelope's request id (0 for JSON). */
export interface DecodedParams {
  readonly params: unknown;
  readonly requestId: number;
}

/**
 * Decodes `bytes` in `wire` form for `spec`. A binary envelope must name this very method.
 * Throws RpcError invalid_argument on bad input; for binary input the error's request id is
 * reported through `onRequestId` first, so its answer can carry it.
 *
 * @example
 * ```ts
 * const { params } = decodeCallParams(bytes, { wire: "json", spec, binary: null, methodId });
 * ```
 */
export function decodeCallParams(
  bytes: Uint8Array,
  options: {
    readonly wire: WireKind;
    readonly spec: AnyMethodSpec;
    readonly methodId: number;
    readonly binary: BinaryWire | null;
    readonly limits?: MethodReadLimits | null;
    readonly onRequestId?: (requestId: number) => void;
  },
): DecodedParams {
  const spec = options.spec;
  if (options.wire === "json") {
    return { params: decodeJsonParams(spec, bytes, options.limits), requestId: 0 };
  }
  const binary = options.binary!;
  const call = binary.readCall(bytes);
  options.onRequestId?.(call.requestId);
  if (call.methodId !== options.methodId) {
    throw new RpcError(
      "invalid_argument",
      `Cannot call ${spec.name}: the envelope's methodName names another method`,
    );
  }
  const params = binary.decodeParams(call, spec, {
    limits: options.limits,
    dataViews: spec.paramsDataViews === true,
  });
  return { params, requestId: call.requestId };
}

/**
 * Parses the JSON params object (an empty body means `{}`), checks the method's list limit on
 * the parsed value, then decodes it; bad input is invalid_argument.
 */
function decodeJsonParams(
  spec: AnyMethodSpec,
  bytes: Uint8Array,
  limits: MethodReadLimits | null | undefined,
): unknown {
  try {
    const value = bytes.length === 0 ? {} : JSON.parse(textDecoder.decode(bytes));
    const lengthMax = limits?.listLengthMax;
    if (lengthMax !== undefined) checkJsonListLengths(value, lengthMax);
    return spec.params.fromJson(value);
  } catch (thrown) {
    throw toRpcError(thrown, true);
  }
}

/**
 * The 200 answer of a result: JSON text or a framed RpcResponse, encoded into a lease that the
 * answer holds until the transport releases it.
 *
 * @example
 * ```ts
 * const answer = encodeResultAnswer(result, { wire: "json", spec, requestId: 0, binary, services });
 * ```
 */
export function encodeResultAnswer(
  result: unknown,
  options: {
    readonly wire: WireKind;
    readonly spec: AnyMethodSpec;
    readonly requestId: number;
    readonly binary: BinaryWire | null;
    readonly services: Services;
  },
): Answer {
  const spec = options.spec;
  if (options.wire === "json") {
    const text = JSON.stringify(spec.result.toJson(result));
    if (text.length === 0) return new Answer(200, MEDIA_TYPES.json, EMPTY);
    const { lease, lengthBytes } = encodeTextLease(options.services, text);
    return new Answer(200, MEDIA_TYPES.json, lease.bytes.subarray(0, lengthBytes), { lease });
  }
  const { lease, lengthBytes } = options.binary!.encodeResultLease(
    options.requestId,
    spec,
    result,
  );
  return new Answer(200, MEDIA_TYPES.capnp, lease.bytes.subarray(0, lengthBytes), { lease });
}

/**
 * Takes a lease of at least `sizeBytes`, or throws RpcError unavailable (503, pool exhausted) or
 * resource_exhausted (larger than the largest block).
 *
 * @example
 * ```ts
 * const lease = acquireOrUnavailable(services, 4096);
 * ```
 */
export function acquireOrUnavailable(services: Services, sizeBytes: number): LeaseLike {
  let lease: LeaseLike | null;
  try {
    lease = services.pool.tryAcquire(sizeBytes);
  } catch (error) {
    // Larger than the largest block: the message cannot be held, so it is refused as too large.
    if (!(error instanceof RangeError)) throw error;
    throw new RpcError("resource_exhausted", `Cannot take a block: ${error.message}`, {
      cause: error,
      retryAfterSeconds: null,
    });
  }
  if (lease === null) {
    throw new RpcError("unavailable", `Cannot take a ${sizeBytes}-byte block: pool exhausted`);
  }
  return lease;
}

/**
 * `text` as UTF-8 in a block of its own. The block is first sized for one byte per UTF-16 unit,
 * exact for ASCII, the usual JSON answer; only a text that does not fit it pays for counting
 * its UTF-8 length (a pass over it, ~1 µs per KiB) and a second encode.
 *
 * @example
 * ```ts
 * const { lease, lengthBytes } = encodeTextLease(services, '{"ok":true}'); // lengthBytes 11
 * ```
 */
export function encodeTextLease(
  services: Services,
  text: string,
): { lease: LeaseLike; lengthBytes: number } {
  const first = acquireOrUnavailable(services, text.length);
  const { read, written } = textEncoder.encodeInto(text, first.bytes);
  if (read === text.length) return { lease: first, lengthBytes: written };
  first.release();
  const lengthBytes = utf8LengthBytes(text);
  const lease = acquireOrUnavailable(services, lengthBytes);
  textEncoder.encodeInto(text, lease.bytes);
  return { lease, lengthBytes };
}

/**
 * The number of UTF-8 bytes of `text` (no allocation).
 *
 * @example
 * ```ts
 * utf8LengthBytes("héllo"); // 6
 * ```
 */
export function utf8LengthBytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A surrogate pair is one code point of 4 bytes; a lone surrogate becomes U+FFFD (3).
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
