/**
 * Which wire a request's Content-Type selects, parsed as RFC 9110 section 8.3.1 says: `type "/"
 * subtype *( OWS ";" OWS parameter )`, type and subtype compared case-insensitively, parameters
 * (`token "=" ( token / quoted-string )`) allowed; anything else (a prefix such as
 * `application/jsonfoo`, a stray byte, a bad parameter) selects no wire and is refused 415.
 * A `charset` parameter, when present, must be `utf-8` (the JSON wire's only encoding).
 *
 * The exact lower-case value (what every client sends) is recognized without parsing.
 *
 * @module
 */

/** The media types a call may use. */
export const MEDIA_TYPES = { json: "application/json", capnp: "application/capnp" } as const;

/** Which wire a request uses. */
export type WireKind = keyof typeof MEDIA_TYPES;

/** The longest Content-Type value parsed; longer is refused. */
export const MEDIA_TYPE_CHARS_MAX = 256;

/** tchar of RFC 9110 section 5.6.2. */
function isTokenChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

/** The end of the token starting at `i`. */
function tokenEnd(text: string, i: number): number {
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

function skipOws(text: string, i: number): number {
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return i;
}

/**
 * The wire of a Content-Type value, or null when it selects none (absent, malformed, another
 * type).
 *
 * @example
 * ```ts
 * wireKindOf("application/json"); // "json"
 * wireKindOf("Application/JSON; charset=utf-8"); // "json"
 * wireKindOf("application/jsonfoo"); // null
 * ```
 */
export function wireKindOf(contentType: string | null): WireKind | null {
  if (contentType === null) return null;
  if (contentType === MEDIA_TYPES.capnp) return "capnp";
  if (contentType === MEDIA_TYPES.json) return "json";
  if (contentType.length > MEDIA_TYPE_CHARS_MAX) return null;
  return parseWire(contentType);
}

/** The full RFC 9110 parse behind `wireKindOf`. */
function parseWire(text: string): WireKind | null {
  let i = skipOws(text, 0);
  const typeEnd = tokenEnd(text, i);
  if (typeEnd === i || text.charCodeAt(typeEnd) !== 0x2f) return null;
  const subStart = typeEnd + 1;
  const subEnd = tokenEnd(text, subStart);
  if (subEnd === subStart) return null;
  const essence = text.slice(i, subEnd).toLowerCase();
  const wire = essence === MEDIA_TYPES.json
    ? "json"
    : essence === MEDIA_TYPES.capnp
    ? "capnp"
    : null;
  if (wire === null) return null;
  i = skipOws(text, subEnd);
  // Each pass reads one parameter; every pass consumes at least one char of a bounded value.
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x3b) return null;
    i = skipOws(text, i + 1);
    const nameEnd = tokenEnd(text, i);
    if (nameEnd === i || text.charCodeAt(nameEnd) !== 0x3d) return null;
    const name = text.slice(i, nameEnd).toLowerCase();
    const value = parameterValue(text, nameEnd + 1);
    if (value === null) return null;
    if (name === "charset" && value.text.toLowerCase() !== "utf-8") return null;
    i = skipOws(text, value.end);
  }
  return wire;
}

/** A parameter value (token or quoted-string) starting at `i`, or null when malformed. */
function parameterValue(text: string, i: number): { text: string; end: number } | null {
  if (text.charCodeAt(i) !== 0x22) {
    const end = tokenEnd(text, i);
    return end === i ? null : { text: text.slice(i, end), end };
  }
  let out = "";
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 0x22) return { text: out, end: j + 1 };
    if (c === 0x5c) {
      j++;
      if (j >= text.length) return null;
      out += text[j];
    } else if (c === 0x09 || (c >= 0x20 && c !== 0x7f)) out += text[j];
    else return null;
  }
  return null;
}
