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
import {
  CACHE_CONTROL_DEFAULT,
  COMPRESS_MIN_BYTES_DEFAULT,
  CORS_ALLOW_HEADERS,
  CORS_EXPOSE_HEADERS,
  CORS_MAX_AGE_SECONDS,
  CORS_ORIGINS_MAX,
  parseCacheControl,
  parseCorsOrigin,
  type WebConfigLike,
} from "./web_config.ts";

export type { WebConfigLike } from "./web_config.ts";

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
