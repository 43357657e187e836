/**
 * The response inits one set of dispatch deps answers with: the content type per wire, the 501
 * status, and the extra headers a listener wants on every answer (the TCP side's Alt-Svc).
 * They are built once per deps, so the hot path never sets a header on a finished Response
 * (measured: `headers.set` after the fact was ~6% of an echo call's JS time).
 *
 * @module
 */

/** The media types a call may use. */
export const MEDIA_TYPES = { json: "application/json", capnp: "application/capnp" } as const;

/** Which wire a request uses. */
export type WireKind = keyof typeof MEDIA_TYPES;

/** Shared inits (the Response constructor copies an init, never keeps it). */
export interface ResponseInits {
  /** A 200 answer per wire. */
  readonly ok: Readonly<Record<WireKind, ResponseInit>>;
  /** The 501 unknown-method answer per wire. */
  readonly unknown: Readonly<Record<WireKind, ResponseInit>>;
  /** The extra headers alone, as pairs (for answers that build their own Headers). */
  readonly extraHeaders: readonly (readonly [string, string])[];
}

/** The most extra headers a listener may ask for (bounded: they go on every answer). */
export const EXTRA_HEADER_COUNT_MAX = 8;

/**
 * Builds the inits for a set of extra headers (lower-case names).
 *
 * @example
 * ```ts
 * const inits = responseInitsFor({ "alt-svc": 'h3=":8443"; ma=86400' });
 * new Response("{}", inits.ok.json);
 * ```
 */
export function responseInitsFor(extraHeaders: Readonly<Record<string, string>>): ResponseInits {
  const pairs = Object.entries(extraHeaders).map(([name, value]) => {
    if (name !== name.toLowerCase() || name === "content-type") {
      throw new TypeError(`Cannot build response inits: header name ${name} is not allowed`);
    }
    return Object.freeze([name, value] as const);
  });
  if (pairs.length > EXTRA_HEADER_COUNT_MAX) {
    throw new RangeError(
      `Cannot build response inits: ${pairs.length} extra headers exceed ${EXTRA_HEADER_COUNT_MAX}`,
    );
  }
  const headersOf = (wire: WireKind) =>
    Object.freeze({ ...extraHeaders, "content-type": MEDIA_TYPES[wire] });
  const json = headersOf("json");
  const capnp = headersOf("capnp");
  return Object.freeze({
    ok: Object.freeze({
      json: Object.freeze({ headers: json }),
      capnp: Object.freeze({ headers: capnp }),
    }),
    unknown: Object.freeze({
      json: Object.freeze({ status: 501, headers: json }),
      capnp: Object.freeze({ status: 501, headers: capnp }),
    }),
    extraHeaders: Object.freeze(pairs),
  });
}

/** The inits with no extra header (deps that name none: HTTP/3, tests, benches). */
export const PLAIN_RESPONSE_INITS: ResponseInits = responseInitsFor({});
