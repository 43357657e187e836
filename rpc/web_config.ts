/**
 * The settings of the web policy (web_policy.ts) and their checks: CORS origins, the GET
 * answers' Cache-Control, the compression threshold. Imports nothing, so the configuration
 * (config/options.ts) validates with the very checks the core applies.
 *
 * @module
 */

/** The configuration fields this reads (config/options.ts declares them). */
export interface WebConfigLike {
  /** Exact origins granted CORS (`https://app.example.com`); absent or empty = none. */
  readonly corsOrigins?: readonly string[];
  /** Cache-Control of GET answers. */
  readonly cacheControl?: string;
  /** Answers of at least this many bytes are compressed; null = never. */
  readonly compressMinBytes?: number | null;
}

/** The most origins the allow-list holds. */
export const CORS_ORIGINS_MAX = 64;
/** How long a browser may cache a preflight's grant (Chromium caps it at 7200). */
export const CORS_MAX_AGE_SECONDS = 600;
/** The request headers a page may send: what a call and the GET form use. */
export const CORS_ALLOW_HEADERS =
  "authorization, content-type, content-encoding, if-none-match, rpc-timeout-ms";
/** The answer headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSE_HEADERS = "etag, retry-after";
/** Cache-Control of GET answers unless configured. */
export const CACHE_CONTROL_DEFAULT = "private, no-cache";
/** The longest Cache-Control value accepted. */
export const CACHE_CONTROL_CHARS_MAX = 256;
/** Answers below this size are sent as they are, unless configured (bench: compression_bench). */
export const COMPRESS_MIN_BYTES_DEFAULT = 1024;

/**
 * Checks a configured origin: it must be a serialized origin — `http` or `https`, a host,
 * an optional port, nothing else — exactly as a browser sends it in `Origin` (lower case, no
 * default port, no trailing slash), since matching is byte for byte.
 *
 * @example
 * ```ts
 * parseCorsOrigin("https://app.example.com"); // "https://app.example.com"
 * parseCorsOrigin("https://app.example.com/"); // throws RangeError
 * ```
 */
export function parseCorsOrigin(text: string): string {
  let origin: string | null = null;
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") origin = url.origin;
  } catch {
    origin = null;
  }
  if (origin !== text) {
    throw new RangeError(
      `${JSON.stringify(text.slice(0, 80))} is not an origin as browsers send it ` +
        `(scheme://host[:port], lower case, no path or trailing slash${
          origin === null ? "" : `: ${origin}`
        })`,
    );
  }
  return origin;
}

/**
 * Checks a Cache-Control value: 1..256 visible ASCII characters or spaces.
 *
 * @example
 * ```ts
 * parseCacheControl("public, max-age=60"); // "public, max-age=60"
 * ```
 */
export function parseCacheControl(text: string): string {
  if (
    text.length === 0 || text.length > CACHE_CONTROL_CHARS_MAX ||
    !/^[\x21-\x7e][\x20-\x7e]*$/.test(text) ||
    text.endsWith(" ")
  ) {
    throw new RangeError(`must be 1..${CACHE_CONTROL_CHARS_MAX} visible ASCII characters`);
  }
  return text;
}
