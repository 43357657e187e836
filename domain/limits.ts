/**
 * Domain limits of worknodes and sheaf overlaps, and the validators that enforce them.
 *
 * Every validator throws `RpcError("invalid_argument", ...)` with a message that names the
 * offending item, so a caller learns exactly which key or value broke which limit.
 *
 * @module
 */

import { RpcError } from "../errors/rpc_error.ts";

/** A property of a worknode: a key and its value, both UTF-8 text. */
export interface Property {
  readonly key: string;
  readonly value: string;
}

/** The fixed domain limits (docs/design.md, "Limits"). */
export const DOMAIN_LIMITS = {
  keyBytesMax: 256,
  valueBytesMax: 8192,
  propertiesPerWorknodeMax: 4096,
  /** The hard ceiling of the boot plan's maxPropertiesPerOverlap. */
  propertiesPerOverlapHardMax: 4096,
  /** Ids and kinds: the schema's textBytesMax(256). */
  idBytesMax: 256,
  kindBytesMax: 256,
  listLimitDefault: 100,
  listLimitMax: 1000,
  /** Default bound of one list page's encoded size. */
  listPageBytesMax: 8 * 1024 * 1024,
} as const;

/** Ids and kinds: printable ASCII without spaces or slashes, so they are safe in URLs and logs. */
const NAME_PATTERN = /^[A-Za-z0-9._:@-]+$/;

/**
 * Returns the UTF-8 length of `text` without encoding it (a lone surrogate counts 3 bytes, as
 * TextEncoder replaces it with U+FFFD).
 *
 * @example
 * ```ts
 * utf8ByteLength("é"); // 2
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function checkUtf8Bounded(what: string, text: string, bytesMax: number): void {
  if (typeof text !== "string") {
    throw new RpcError("invalid_argument", `Cannot accept ${what}: not a string`);
  }
  // Fast path: the string cannot exceed the limit even at 3 bytes per UTF-16 unit.
  if (text.length * 3 <= bytesMax) return;
  // A JS string of n UTF-16 units has at least n bytes of UTF-8, so a long one fails unencoded.
  const lengthBytes = text.length > bytesMax ? text.length : utf8ByteLength(text);
  if (lengthBytes > bytesMax) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept ${what}: ${
        text.length > bytesMax ? "at least " : ""
      }${lengthBytes} bytes of UTF-8 exceeds ${bytesMax}`,
    );
  }
}

/**
 * Checks one property key: non-empty and at most 256 bytes of UTF-8.
 *
 * @example
 * ```ts
 * validateKey("color"); // ok
 * validateKey("x".repeat(257)); // throws invalid_argument
 * ```
 */
export function validateKey(key: string): void {
  if (key === "") throw new RpcError("invalid_argument", "Cannot accept key: it is empty");
  checkUtf8Bounded(`key ${JSON.stringify(key.slice(0, 32))}`, key, DOMAIN_LIMITS.keyBytesMax);
}

/**
 * Checks one property value: at most 8192 bytes of UTF-8 (empty is allowed).
 *
 * @example
 * ```ts
 * validateValue("red", "color"); // ok
 * ```
 */
export function validateValue(value: string, key: string): void {
  checkUtf8Bounded(
    `value of key ${JSON.stringify(key.slice(0, 32))}`,
    value,
    DOMAIN_LIMITS.valueBytesMax,
  );
}

/**
 * Checks a worknode id or kind: 1..256 characters of `[A-Za-z0-9._:@-]`.
 *
 * @example
 * ```ts
 * validateName("id", "w-1"); // ok
 * ```
 */
export function validateName(what: "id" | "kind", name: string): void {
  if (typeof name !== "string" || name === "") {
    throw new RpcError("invalid_argument", `Cannot accept ${what}: it is empty`);
  }
  const bytesMax = what === "id" ? DOMAIN_LIMITS.idBytesMax : DOMAIN_LIMITS.kindBytesMax;
  if (name.length > bytesMax) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept ${what}: length ${name.length} exceeds ${bytesMax}`,
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept ${what} ${JSON.stringify(name)}: only A-Z a-z 0-9 . _ : @ - are allowed`,
    );
  }
}

/**
 * Checks a list of properties: each key and value within limits, no key twice, and at most
 * `countMax` entries. Returns the keys as a set for the caller's further checks.
 *
 * @example
 * ```ts
 * validateProperties([{ key: "a", value: "1" }], { what: "properties", countMax: 4096 });
 * ```
 */
export function validateProperties(
  properties: readonly Property[],
  options: { what: string; countMax: number },
): Set<string> {
  if (!Array.isArray(properties)) {
    throw new RpcError("invalid_argument", `Cannot accept ${options.what}: not a list`);
  }
  if (properties.length > options.countMax) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept ${options.what}: ${properties.length} properties exceed ${options.countMax}`,
      { details: { count: properties.length, countMax: options.countMax } },
    );
  }
  const keys = new Set<string>();
  for (const property of properties) {
    validateKey(property.key);
    validateValue(property.value, property.key);
    if (keys.has(property.key)) {
      throw new RpcError(
        "invalid_argument",
        `Cannot accept ${options.what}: key ${JSON.stringify(property.key)} appears twice`,
      );
    }
    keys.add(property.key);
  }
  return keys;
}

/**
 * Checks the keys removed by an update: each a valid key, none twice, none also set.
 *
 * @example
 * ```ts
 * validateRemovedKeys(["a"], new Set(["b"])); // ok
 * ```
 */
export function validateRemovedKeys(remove: readonly string[], setKeys: Set<string>): void {
  if (!Array.isArray(remove)) {
    throw new RpcError("invalid_argument", "Cannot accept remove: not a list");
  }
  if (remove.length > DOMAIN_LIMITS.propertiesPerWorknodeMax) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept remove: ${remove.length} keys exceed ${DOMAIN_LIMITS.propertiesPerWorknodeMax}`,
    );
  }
  const seen = new Set<string>();
  for (const key of remove) {
    validateKey(key);
    if (seen.has(key) || setKeys.has(key)) {
      throw new RpcError(
        "invalid_argument",
        `Cannot accept remove: key ${JSON.stringify(key)} appears twice or is also set`,
      );
    }
    seen.add(key);
  }
}

/**
 * Checks an expected version: a safe integer >= 1 (versions start at 1 on create).
 *
 * @example
 * ```ts
 * validateVersion("expectedVersion", 3); // ok
 * ```
 */
export function validateVersion(what: string, version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RpcError(
      "invalid_argument",
      `Cannot accept ${what}: ${version} is not an integer >= 1`,
    );
  }
}
