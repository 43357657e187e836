/**
 * The one `/rpc` matcher: which request targets belong to the call core, and the HTTP method
 * codes every transport maps its method to. Every transport (HTTP/1.1, HTTP/2, HTTP/3) asks this
 * file, so a target means the same on every listener.
 *
 * The rules (docs/design.md, "The /rpc namespace"):
 * - The core owns every target whose path is `/rpc` or starts with `/rpc/`; every other target
 *   goes to the Hono app (health, metrics, dashboard).
 * - `/rpc/<name>`: `<name>` is every byte after `/rpc/` up to the first `?` or the end. It is
 *   looked up byte for byte in the frozen method set: nothing is decoded or normalized, so a
 *   `%`-escape, a `/` (nested path), a trailing `/`, a `#` or an empty name never names a method
 *   and is answered 501 unimplemented, before any body byte is read.
 * - `/rpc` (nothing after it but an optional `?query`) is a batch.
 * - The query is not part of the name (GET forms may use it later).
 * - The method is compared case-sensitively (RFC 9110 section 9.1): only `POST` calls; any other
 *   method, `post` included, is answered 405 with `Allow: POST`.
 *
 * @module
 */

/** Request methods as codes (the call core and the HTTP/1.1 parser use them). */
export const HTTP_METHOD = { other: 0, get: 1, head: 2, post: 3, options: 4 } as const;

/** One of HTTP_METHOD's values. */
export type HttpMethodCode = typeof HTTP_METHOD[keyof typeof HTTP_METHOD];

/** `matchRpcTarget` result: the target is not in the /rpc namespace (the app serves it). */
export const TARGET_APP = -1;
/** `matchRpcTarget` result: the target is `/rpc` (a batch). */
export const TARGET_BATCH = -2;

/** The longest target the matcher looks at; a longer `/rpc/...` target names no method. */
export const TARGET_BYTES_MAX = 8192;

/**
 * Classifies the request target `buf[start, end)` (origin-form: it starts with `/`): TARGET_APP,
 * TARGET_BATCH, or the end index of the method name, which starts at `start + 5` (possibly
 * empty: then the end equals `start + 5`).
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("/rpc/system.echo?x");
 * matchRpcTarget(bytes, 0, bytes.length); // 16: the name is bytes [5, 16)
 * ```
 */
export function matchRpcTarget(buf: Uint8Array, start: number, end: number): number {
  const length = end - start;
  if (
    length < 4 || buf[start] !== 0x2f || buf[start + 1] !== 0x72 || buf[start + 2] !== 0x70 ||
    buf[start + 3] !== 0x63
  ) {
    return TARGET_APP;
  }
  if (length === 4 || buf[start + 4] === 0x3f) return TARGET_BATCH; // "/rpc" or "/rpc?..."
  if (buf[start + 4] !== 0x2f) return TARGET_APP; // "/rpcx": another path.
  const stop = Math.min(end, start + TARGET_BYTES_MAX);
  let i = start + 5;
  while (i < stop && buf[i] !== 0x3f) i++;
  return i;
}

/** Scratch bytes for targets that arrive as strings (HTTP/2 and HTTP/3 `:path`). */
const scratch = new Uint8Array(TARGET_BYTES_MAX);

/**
 * The same classification for a target held as a string: its chars are written into a scratch
 * buffer (one byte each: a `:path` is ASCII; any other char can match no name) and matched by
 * `matchRpcTarget`. The returned name range indexes `rpcTargetScratch()`.
 *
 * @example
 * ```ts
 * const end = matchRpcPath("/rpc/system.echo");
 * if (end >= 0) registry.lookupBytes(rpcTargetScratch(), 5, end - 5);
 * ```
 */
export function matchRpcPath(path: string): number {
  // Cheap refusal of every non-/rpc path before any copy.
  if (path.length < 4 || path.charCodeAt(1) !== 0x72 || !path.startsWith("/rpc")) {
    return TARGET_APP;
  }
  const n = Math.min(path.length, TARGET_BYTES_MAX);
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    scratch[i] = c < 0x100 ? c : 0xff;
  }
  return matchRpcTarget(scratch, 0, n);
}

/** The bytes `matchRpcPath` matched (valid until its next call). */
export function rpcTargetScratch(): Uint8Array {
  return scratch;
}

/**
 * The code of a method name held as a string (HTTP/2, HTTP/3), case-sensitive.
 *
 * @example
 * ```ts
 * httpMethodCode("POST"); // HTTP_METHOD.post
 * httpMethodCode("post"); // HTTP_METHOD.other
 * ```
 */
export function httpMethodCode(method: string): HttpMethodCode {
  switch (method) {
    case "POST":
      return HTTP_METHOD.post;
    case "GET":
      return HTTP_METHOD.get;
    case "HEAD":
      return HTTP_METHOD.head;
    case "OPTIONS":
      return HTTP_METHOD.options;
    default:
      return HTTP_METHOD.other;
  }
}

/**
 * The code of the method `buf[s, e)` (HTTP/1.1 request line), case-sensitive.
 *
 * @example
 * ```ts
 * httpMethodCodeOf(new TextEncoder().encode("POST"), 0, 4); // HTTP_METHOD.post
 * ```
 */
export function httpMethodCodeOf(buf: Uint8Array, s: number, e: number): HttpMethodCode {
  const n = e - s;
  if (n === 4) {
    const a = buf[s], b = buf[s + 1], c = buf[s + 2], d = buf[s + 3];
    if (a === 0x50 && b === 0x4f && c === 0x53 && d === 0x54) return HTTP_METHOD.post;
    if (a === 0x48 && b === 0x45 && c === 0x41 && d === 0x44) return HTTP_METHOD.head;
  } else if (n === 3) {
    if (buf[s] === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return HTTP_METHOD.get;
  } else if (n === 7) {
    const options = "OPTIONS";
    let i = 0;
    while (i < 7 && buf[s + i] === options.charCodeAt(i)) i++;
    if (i === 7) return HTTP_METHOD.options;
  }
  return HTTP_METHOD.other;
}
