/**
 * Header values the call core parses itself (the deadline header); bounded so a hostile value
 * costs at most a few comparisons.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";

/** The longest accepted decimal header value, in characters (beyond 2^53 it is not exact). */
export const HEADER_DIGITS_MAX = 15;

/**
 * Parses a non-negative decimal header value; null when absent. Throws RpcError
 * (invalid_argument) on anything but 1..15 ASCII digits.
 *
 * @example
 * ```ts
 * parseDecimalHeader("Rpc-Timeout-Ms", "250"); // 250
 * ```
 */
export function parseDecimalHeader(name: string, value: string | null): number | null {
  if (value === null) return null;
  if (value.length === 0 || value.length > HEADER_DIGITS_MAX) {
    throw new RpcError("invalid_argument", `Cannot parse ${name}: ${value.length} characters`);
  }
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) {
      throw new RpcError("invalid_argument", `Cannot parse ${name}: not a decimal number`);
    }
    n = n * 10 + d;
  }
  return n;
}
