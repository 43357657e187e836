/**
 * Test helper shared by the http3 unit tests: which H3 error a parse raised.
 *
 * @module
 */

import { H3Error } from "./errors.ts";

/**
 * The H3 error code name `fn` throws, or undefined when it returns; any other exception is
 * rethrown so a test never mistakes a crash for a typed refusal.
 *
 * @example
 * ```ts
 * h3ErrorCode(() => parseSettingsPayload(new Uint8Array([0x06]))); // "H3_FRAME_ERROR"
 * ```
 */
export function h3ErrorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof H3Error) return e.codeName;
    throw e;
  }
  return undefined;
}
