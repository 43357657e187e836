/**
 * Validation helpers for the JSON form of the schema (used by the generated `fromJson`).
 * UInt64/Int64 are JSON numbers (a decimal string is accepted too); Data is base64 text.
 *
 * @module
 */
import { CapnpError } from "./errors.ts";
import { utf8Length } from "./text.ts";

function fail(path: string, what: string): never {
  throw new CapnpError("bad_json", `Cannot read JSON: ${path} ${what}`);
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
    fail(path, "must be an object");
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!keys.includes(key)) fail(`${path}.${key}`, "is not a field of this struct");
  }
  return record;
}

/**
 * A Text field: absent is `""`; longer than `bytesMax` UTF-8 bytes is refused.
 *
 * @example
 * ```ts
 * jsonText("red", "Property.value", 8192); // "red"
 * ```
 */
export function jsonText(value: unknown, path: string, bytesMax: number): string {
  if (value === undefined) return "";
  if (typeof value !== "string") fail(path, "must be a string");
  if (value.length > bytesMax / 3 && utf8Length(value) > bytesMax) {
    throw new CapnpError(
      "too_large",
      `Cannot read JSON: ${path} is ${utf8Length(value)} bytes, more than ${bytesMax}`,
    );
  }
  return value;
}

/**
 * An unsigned integer field of `bits` (8..64 → 0..2^53-1 for 64); absent is 0.
 *
 * @example
 * ```ts
 * jsonUint(7, "version", 64); // 7
 * ```
 */
export function jsonUint(value: unknown, path: string, bits: number): number {
  const n = jsonInteger(value, path);
  const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  if (n < 0 || n > max) fail(path, `must be an integer in 0..${max}`);
  return n;
}

/**
 * A signed integer field of `bits`; absent is 0.
 *
 * @example
 * ```ts
 * jsonInt(-5, "createdAtMs", 64); // -5
 * ```
 */
export function jsonInt(value: unknown, path: string, bits: number): number {
  const n = jsonInteger(value, path);
  const max = bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** (bits - 1) - 1;
  const min = bits >= 53 ? -Number.MAX_SAFE_INTEGER : -(2 ** (bits - 1));
  if (n < min || n > max) fail(path, `must be an integer in ${min}..${max}`);
  return n;
}

function jsonInteger(value: unknown, path: string): number {
  if (value === undefined) return 0;
  let n = value;
  if (typeof value === "string" && /^-?[0-9]{1,16}$/.test(value)) n = Number(value);
  if (typeof n !== "number" || !Number.isSafeInteger(n)) fail(path, "must be a safe integer");
  return n as number;
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
  if (typeof value !== "boolean") fail(path, "must be a boolean");
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
  if (!Array.isArray(value)) fail(path, "must be an array");
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

/**
 * A Data field from base64 text; absent is empty.
 *
 * @example
 * ```ts
 * jsonData("aGk=", "payload"); // Uint8Array [104, 105]
 * ```
 */
export function jsonData(value: unknown, path: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (typeof value !== "string") fail(path, "must be base64 text");
  let binary: string;
  try {
    binary = atob(value);
  } catch {
    fail(path, "must be base64 text");
  }
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
