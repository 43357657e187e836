/**
 * A request body that arrived with `Content-Encoding: gzip`, inflated into a pool block once it
 * is all in (call.ts). The compressed bytes were held, like any body, in the call's block under
 * the method's limit; the inflated ones go into a second block, sized by what the gzip trailer
 * states (ISIZE, RFC 1952 section 2.3.1), and the inflation stops where that block ends:
 *
 * - a stated size over the method's limit is 413 before a byte is inflated (a gzip bomb);
 * - a stream that inflates past its stated size is refused 400 once the block is full (a bomb
 *   whose trailer lies is never inflated past the limit either);
 * - a malformed or truncated stream, or bytes after it, is 400.
 *
 * Nothing but the process's one gunzip engine lives outside the pool (zlib_engine.ts).
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";
import { tooLarge } from "./body_sink.ts";
import type { ShareCharge } from "./fair_share.ts";
import type { LeaseLike } from "./method.ts";
import { gunzipInto, INFLATE_OVERFLOW } from "./zlib_engine.ts";

/** The shortest gzip stream: a 10-byte header, an empty deflate block, an 8-byte trailer. */
export const GZIP_BYTES_MIN = 20;

/** A taken block and its charge (the core's `takeBlock`). */
export interface TakenBlock {
  readonly lease: LeaseLike | null;
  readonly charge: ShareCharge;
}

/** An inflated body: its block (null when empty), charge and length. */
export interface InflatedBody extends TakenBlock {
  readonly lengthBytes: number;
}

function badGzip(why: string): RpcError {
  return new RpcError("invalid_argument", `Cannot read body: the gzip stream ${why}`);
}

/**
 * Inflates the gzip body `compressed` into a block from `take`. Throws the refusal (413, 400,
 * or what `take` throws: 429, 503); on a refusal the block is given back.
 *
 * @example
 * ```ts
 * const body = inflateBody(bytes, { limitBytes, what: "worknode.create", take, give });
 * ```
 */
export function inflateBody(
  compressed: Uint8Array,
  options: {
    readonly limitBytes: number;
    readonly what: string;
    readonly take: (sizeBytes: number) => TakenBlock;
    readonly give: (block: TakenBlock) => void;
  },
): InflatedBody {
  if (compressed.length < GZIP_BYTES_MIN) throw badGzip("is too short");
  const at = compressed.length - 4;
  const claimed = (compressed[at] | compressed[at + 1] << 8 | compressed[at + 2] << 16 |
    compressed[at + 3] << 24) >>> 0;
  if (claimed > options.limitBytes) throw tooLarge(options.what, claimed, options.limitBytes);
  const block = options.take(claimed);
  let inflated: number;
  try {
    const out = block.lease === null ? new Uint8Array(0) : block.lease.bytes.subarray(0, claimed);
    inflated = gunzipInto(compressed, out);
  } catch (error) {
    options.give(block);
    throw error instanceof RangeError ? badGzip(`is malformed (${error.message})`) : error;
  }
  if (inflated === INFLATE_OVERFLOW || inflated !== claimed) {
    options.give(block);
    throw badGzip(`does not inflate to the ${claimed} bytes its trailer states`);
  }
  return { lease: block.lease, charge: block.charge, lengthBytes: inflated };
}
