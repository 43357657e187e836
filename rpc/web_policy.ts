/**
 * What the call core does for browsers and caches, fixed at boot from the configuration
 * (docs/design.md, "Browsers and caches"):
 *
 * - **CORS**: an allow-list of exact origins (`--cors-origin`, repeatable). A request whose one
 *   `Origin` is on the list gets `Access-Control-Allow-Origin` (that origin), the exposed
 *   headers and `Vary: Origin` on every answer, refusals included; a preflight (`OPTIONS` with
 *   `Origin` and `Access-Control-Request-Method`) gets 204 with the allowed methods and headers
 *   and a max-age. Any other origin gets no grant. Preflights are answered from answers built
 *   here at boot: no pool block, no token, no allocation.
 * - **Caching**: GET answers carry `Cache-Control` (default `private, no-cache`; errors
 *   `no-store`) and a `Vary` naming what the answer depends on.
 * - **Compression**: answers of at least `compressMinBytes` are sent in the coding the request
 *   accepts (content_coding.ts), when that makes them smaller.
 *
 * @module
 */

import { Answer, type CallAnswer, type HeaderPairs, NO_HEADERS } from "./answer.ts";
import { type AnswerCoding, answerCodingOf } from "./content_coding.ts";
import type { CallHead } from "./call_head.ts";

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

/** The fields one kind of requester's answers get on top of the answer's own. */
export interface WebFields {
  /** A POST call's answer. */
  readonly post: HeaderPairs;
  /** A GET's 200 or 304. */
  readonly getOk: HeaderPairs;
  /** A GET's error. */
  readonly getError: HeaderPairs;
}

/** What is prepared per allowed origin (and once for every other requester). */
interface Grant {
  readonly fields: WebFields;
  /** The preflight answers: for a method GET may call, and for POST-only targets. */
  readonly preflightGet: CallAnswer;
  readonly preflightPost: CallAnswer;
}

const EMPTY = new Uint8Array(0);

function pairs(...lines: (readonly [string, string] | null)[]): HeaderPairs {
  return Object.freeze(lines.filter((line) => line !== null).map((line) => Object.freeze(line)));
}

/**
 * The web policy of one service.
 *
 * @example
 * ```ts
 * const web = new WebPolicy({ corsOrigins: ["https://app.example.com"] });
 * web.grantOf(head); // WebFields of that origin, or of everyone else
 * ```
 */
export class WebPolicy {
  readonly corsEnabled: boolean;
  readonly cacheControl: string;
  /** Infinity when compression is off. */
  readonly compressMinBytes: number;
  readonly #grants = new Map<string, Grant>();
  readonly #ungranted: Grant;
  #lastAccept: string | null = null;
  #lastCoding: AnswerCoding | null = null;

  constructor(config: WebConfigLike) {
    const origins = config.corsOrigins ?? [];
    if (origins.length > CORS_ORIGINS_MAX) {
      throw new RangeError(`Cannot build web policy: ${origins.length} origins, at most 64`);
    }
    this.cacheControl = parseCacheControl(config.cacheControl ?? CACHE_CONTROL_DEFAULT);
    const minBytes = config.compressMinBytes === undefined
      ? COMPRESS_MIN_BYTES_DEFAULT
      : config.compressMinBytes;
    if (minBytes !== null && (!Number.isSafeInteger(minBytes) || minBytes < 0)) {
      throw new RangeError(`Cannot build web policy: compressMinBytes ${minBytes}`);
    }
    this.compressMinBytes = minBytes ?? Infinity;
    this.corsEnabled = origins.length > 0;
    for (const origin of origins) this.#grants.set(parseCorsOrigin(origin), this.#grant(origin));
    this.#ungranted = this.#grant(null);
  }

  /** The fields and preflight answers of `origin` (null: a requester without a grant). */
  #grant(origin: string | null): Grant {
    const cors = origin !== null;
    const allowOrigin = cors ? ["access-control-allow-origin", origin] as const : null;
    const expose = cors ? ["access-control-expose-headers", CORS_EXPOSE_HEADERS] as const : null;
    const varyOrigin = this.corsEnabled ? "origin" : null;
    const compressing = this.compressMinBytes !== Infinity;
    const getVary = [compressing ? "accept-encoding" : null, varyOrigin].filter((v) => v !== null);
    const vary = getVary.length > 0 ? ["vary", getVary.join(", ")] as const : null;
    const fields: WebFields = {
      post: cors ? pairs(allowOrigin, expose, ["vary", "origin"]) : NO_HEADERS,
      getOk: pairs(["cache-control", this.cacheControl], vary, allowOrigin, expose),
      getError: pairs(["cache-control", "no-store"], vary, allowOrigin, expose),
    };
    const preflight = (methods: string, allow: string) =>
      new Answer(204, "", EMPTY, {
        fields: cors
          ? pairs(
            allowOrigin,
            ["access-control-allow-methods", methods],
            ["access-control-allow-headers", CORS_ALLOW_HEADERS],
            ["access-control-max-age", String(CORS_MAX_AGE_SECONDS)],
            ["vary", "origin"],
          )
          : pairs(["allow", allow], varyOrigin === null ? null : ["vary", "origin"]),
      });
    return {
      fields,
      preflightGet: preflight("GET, POST", "GET, POST, OPTIONS"),
      preflightPost: preflight("POST", "POST, OPTIONS"),
    };
  }

  /** The grant of the request's origin: its one `Origin` on the list, else none. */
  #grantOf(head: CallHead): Grant {
    if (head.origin === null || head.originCount !== 1) return this.#ungranted;
    return this.#grants.get(head.origin) ?? this.#ungranted;
  }

  /**
   * The fields a call's answers get (null: none, the answers go out as they are), for a
   * POST (`get` false) or a GET.
   */
  fieldsOf(head: CallHead, get: boolean): WebFields | null {
    if (!get && (head.origin === null || !this.corsEnabled)) return null;
    const grant = this.#grantOf(head);
    return !get && grant === this.#ungranted ? null : grant.fields;
  }

  /**
   * The answer to `OPTIONS` on a `/rpc` target: a preflight from an allowed origin gets the
   * grant (`safe`: the target's method may be called with GET); anything else gets `Allow`.
   */
  preflight(head: CallHead, safe: boolean): CallAnswer {
    const grant = head.preflightMethod === null ? this.#ungranted : this.#grantOf(head);
    return safe ? grant.preflightGet : grant.preflightPost;
  }

  /** The coding the call's answer may use, or null (compression off, or none accepted). */
  codingOf(head: CallHead): AnswerCoding | null {
    const accept = head.acceptEncoding;
    if (accept === null || this.compressMinBytes === Infinity) return null;
    // A connection (or every client of one kind) sends the same value again and again.
    if (accept !== this.#lastAccept) {
      this.#lastCoding = answerCodingOf(accept);
      this.#lastAccept = accept;
    }
    return this.#lastCoding;
  }
}
