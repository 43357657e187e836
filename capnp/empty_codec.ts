/**
 * The codec of a struct with no fields (e.g. `SystemPoolParams`, `WorknodeDeleteResult`), shared
 * by every such struct instead of being generated once per struct.
 *
 * @module
 */
import type { StructCodec } from "./codec.ts";
import { jsonObject } from "./json.ts";

const NO_KEYS: readonly string[] = [];

/**
 * Returns the codec of an empty struct named `typeName`: zero data words, zero pointers, `{}` on
 * both wires. JSON input must be an object without keys.
 *
 * @example
 * ```ts
 * const codec = emptyStructCodec<Record<string, never>>("SystemPoolParams");
 * codec.fromJson({}); // {}
 * ```
 */
export function emptyStructCodec<T extends Record<string, never>>(
  typeName: string,
): StructCodec<T> {
  return {
    typeName,
    dataWords: 0,
    pointerCount: 0,
    readBody: () => ({}) as T,
    measureChildren: () => 0,
    writeBody: () => {},
    fromJson(value: unknown, path = typeName): T {
      jsonObject(value, path, NO_KEYS);
      return {} as T;
    },
    toJson: () => ({}),
  };
}
