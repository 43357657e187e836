/**
 * The JSON wire's counterpart of the codec's `ReadLimits.listLengthMax`: every array in a parsed
 * params value is checked against a method's list limit before the schema decoder walks it.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";

/** How deep the check follows nested objects and arrays (the codec's nesting default). */
export const JSON_NESTING_DEPTH_MAX = 64;

/**
 * Throws invalid_argument when any array in `value` has more than `lengthMax` elements, or the
 * value nests deeper than JSON_NESTING_DEPTH_MAX. In the JSON form a Data field is base64 text,
 * so only real lists are counted (as in the binary codec).
 *
 * @example
 * ```ts
 * checkJsonListLengths({ properties: [{ key: "k", value: "v" }] }, 128); // passes
 * ```
 */
export function checkJsonListLengths(value: unknown, lengthMax: number): void {
  if (!Number.isSafeInteger(lengthMax) || lengthMax < 0) {
    throw new RangeError(`Cannot check lists: lengthMax ${lengthMax} is not a count`);
  }
  check(value, lengthMax, "params", 1);
}

function check(value: unknown, lengthMax: number, path: string, depth: number): void {
  if (value === null || typeof value !== "object") return;
  if (depth > JSON_NESTING_DEPTH_MAX) {
    throw new RpcError(
      "invalid_argument",
      `Cannot read ${path}: nesting exceeds ${JSON_NESTING_DEPTH_MAX}`,
    );
  }
  if (Array.isArray(value)) {
    if (value.length > lengthMax) {
      throw new RpcError(
        "invalid_argument",
        `Cannot read ${path}: list length ${value.length} exceeds ${lengthMax}`,
      );
    }
    for (let i = 0; i < value.length; i++) check(value[i], lengthMax, path, depth + 1);
    return;
  }
  for (const key in value) {
    check((value as Record<string, unknown>)[key], lengthMax, `${path}.${key}`, depth + 1);
  }
}
