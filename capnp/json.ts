/**
 * Validation helpers for the JSON form of the schema (used by the generated `fromJson`).
 *
 * The JSON form is strictly typed, and every refusal names the field (its path from the
 * struct, e.g. `WorknodeListParams.limit`) and what it got:
 * - integers (UInt32, UInt64, Int64) are JSON numbers with no fraction, inside the type's range
 *   (64-bit ones within ±(2^53-1), as the binary reader); a string is not a number, even a
 *   decimal one (`"limit":"2"` is refused);
 * - Text is a JSON string of well-formed Unicode (a lone surrogate is refused, as invalid UTF-8
 *   is in the binary form), within the field's `textBytesMax` in UTF-8;
 * - Bool is `true` or `false`; a List is an array; a struct is an object; Data is canonical
 *   base64 text;
 * - an absent field is the schema default; `null` is a value only for the recursive struct
 *   fields that are `T | null`, and is refused everywhere else;
 * - unknown fields are refused (unlike protobuf's JSON mapping, which ignores them by default):
 *   a misspelled field such as `expectedVersoin` must not silently become the default, which
 *   for a version check would mean "no check".
 *
 * @module
 */
import { CapnpError } from "./errors.ts";
import { utf8Length } from "./text.ts";

function fail(path: string, what: string): never {
  throw new CapnpError("bad_json", `Cannot read JSON: ${path} ${what}`);
}

/** What a JSON value is, for messages: "a string", "null", "an array"... */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" ? "an object" : `a ${type}`;
}

/**
 * Checks that `value` is a plain object with no keys outside `keys`; returns it.
 *
 * @example
 * ```ts
 * jsonObject({ key: "k" }, "Property", ["key", "value"]);
 * ```
 */
export function jsonObject(
  value: unknown,
  path: string,
  keys: readonly string[],
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(path, `must be an object, not ${kindOf(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!keys.includes(key)) fail(`${path}.${key}`, "is not a field of this struct");
  }
  return record;
}

/**
 * A Text field: absent is `""`; a lone surrogate, or more than `bytesMax` UTF-8 bytes, is
 * refused.
 *
 * @example
 * ```ts
 * jsonText("red", "Property.value", 8192); // "red"
 * ```
 */
export function jsonText(value: unknown, path: string, bytesMax: number): string {
  if (value === undefined) return "";
  if (typeof value !== "string") fail(path, `must be a string, not ${kindOf(value)}`);
  if (!value.isWellFormed()) fail(path, "must be well-formed Unicode (it has a lone surrogate)");
  if (value.length > bytesMax / 3 && utf8Length(value) > bytesMax) {
    throw new CapnpError(
      "too_large",
      `Cannot read JSON: ${path} is ${utf8Length(value)} bytes, more than ${bytesMax}`,
    );
  }
  return value;
}

/**
 * An unsigned integer field of `bits` (32, or 64 → 0..2^53-1); absent is 0.
 *
 * @example
 * ```ts
 * jsonUint(7, "version", 64); // 7
 * ```
 */
export function jsonUint(value: unknown, path: string, bits: number): number {
  const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  return jsonInteger(value, path, 0, max);
}

/**
 * A signed integer field of `bits` (64 → ±(2^53-1)); absent is 0.
 *
 * @example
 * ```ts
 * jsonInt(-5, "createdAtMs", 64); // -5
 * ```
 */
export function jsonInt(value: unknown, path: string, bits: number): number {
  const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** (bits - 1) - 1;
  const min = bits >= 53 ? -Number.MAX_SAFE_INTEGER : -(2 ** (bits - 1));
  return jsonInteger(value, path, min, max);
}

function jsonInteger(value: unknown, path: string, min: number, max: number): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") fail(path, `must be a number, not ${kindOf(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(path, `must be an integer in ${min}..${max}, not ${value}`);
  }
  // -0 is 0 (the binary form has no negative zero).
  return value === 0 ? 0 : value;
}

/**
 * A Bool field; absent is false.
 *
 * @example
 * ```ts
 * jsonBool(true, "resolve"); // true
 * ```
 */
export function jsonBool(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") fail(path, `must be a boolean, not ${kindOf(value)}`);
  return value;
}

/**
 * A List field: absent is `[]`; each element goes through `element`.
 *
 * @example
 * ```ts
 * jsonList(["a"], "remove", { lengthMax: 10, element: (v, p) => jsonText(v, p, 256) });
 * ```
 */
export function jsonList<T>(
  value: unknown,
  path: string,
  options: { lengthMax: number; element: (value: unknown, path: string) => T },
): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(path, `must be an array, not ${kindOf(value)}`);
  if (value.length > options.lengthMax) {
    throw new CapnpError(
      "too_large",
      `Cannot read JSON: ${path} has ${value.length} elements, more than ${options.lengthMax}`,
    );
  }
  const out = new Array<T>(value.length);
  for (let i = 0; i < value.length; i++) out[i] = options.element(value[i], `${path}[${i}]`);
  return out;
}

/** Base64 characters with padding only at the end (one character class: linear on big text). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A Data field from base64 text (padded, no whitespace, as {@link dataToJson} writes it);
 * absent is empty.
 *
 * @example
 * ```ts
 * jsonData("aGk=", "payload"); // Uint8Array [104, 105]
 * ```
 */
export function jsonData(value: unknown, path: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (typeof value !== "string") fail(path, `must be base64 text, not ${kindOf(value)}`);
  if (value.length % 4 !== 0 || !BASE64.test(value)) {
    fail(path, "must be base64 text (A-Z a-z 0-9 + /, padded with = to a multiple of 4)");
  }
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Base64 text of a Data value (the JSON form).
 *
 * @example
 * ```ts
 * dataToJson(new Uint8Array([104, 105])); // "aGk="
 * ```
 */
export function dataToJson(bytes: Uint8Array): string {
  let binary = "";
  const chunkBytes = 0x8000;
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunkBytes));
  }
  return btoa(binary);
}
