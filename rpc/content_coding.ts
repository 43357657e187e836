/**
 * Content codings (RFC 9110 section 8.4): which coding an answer may use, from the request's
 * `Accept-Encoding` (section 12.5.3), and which coding a request body arrived in, from its
 * `Content-Encoding`. Answers may be `zstd` or `gzip` (docs/design.md, "Compression": brotli is
 * measured and left out); a request body may be `gzip` (or `identity`).
 *
 * Both parsers are bounded: a value longer than CODING_FIELD_CHARS_MAX, or a list of more than
 * CODING_ITEMS_MAX items, selects no coding (an answer is then sent as is), so a hostile field
 * costs a bounded scan.
 *
 * @module
 */

/** The codings an answer may be sent in, in the server's order of preference. */
export const ANSWER_CODINGS = ["zstd", "gzip"] as const;

/** A coding an answer may be sent in. */
export type AnswerCoding = typeof ANSWER_CODINGS[number];

/** The longest Accept-Encoding value looked at. */
export const CODING_FIELD_CHARS_MAX = 1024;

/** The most list items looked at. */
export const CODING_ITEMS_MAX = 32;

/** A quality value (RFC 9110 section 12.4.2) in thousandths, or -1 when malformed. */
function qualityOf(text: string): number {
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(text)) return -1;
  return Math.round(Number(text) * 1000);
}

/** Reads one list item (`coding *(OWS ";" OWS param)`) into its lower-case coding and q. */
function readItem(item: string): { coding: string; quality: number } {
  const parts = item.split(";");
  const coding = parts[0].trim().toLowerCase();
  let quality = 1000;
  // Bounded by the item's length (itself bounded by the field's).
  for (let i = 1; i < parts.length; i++) {
    const param = parts[i].trim().toLowerCase();
    if (param.startsWith("q=")) quality = qualityOf(param.slice(2));
  }
  return { coding, quality };
}

/**
 * The coding an answer uses under `acceptEncoding`: the highest quality of zstd and gzip (`*`
 * stands for any coding not named; `x-gzip` for gzip), the server's order on a tie; null when
 * neither is acceptable (or the field is absent, too long or has too many items).
 *
 * @example
 * ```ts
 * answerCodingOf("gzip, deflate, br, zstd"); // "zstd"
 * answerCodingOf("gzip;q=1, zstd;q=0.5"); // "gzip"
 * answerCodingOf("identity"); // null
 * ```
 */
export function answerCodingOf(acceptEncoding: string | null): AnswerCoding | null {
  if (acceptEncoding === null || acceptEncoding.length > CODING_FIELD_CHARS_MAX) return null;
  const items = acceptEncoding.split(",");
  if (items.length > CODING_ITEMS_MAX) return null;
  let zstd = -1;
  let gzip = -1;
  let any = -1;
  for (const text of items) {
    const { coding, quality } = readItem(text);
    if (coding === "zstd") zstd = quality;
    else if (coding === "gzip" || coding === "x-gzip") gzip = Math.max(gzip, quality);
    else if (coding === "*") any = quality;
  }
  if (zstd === -1) zstd = any;
  if (gzip === -1) gzip = any;
  if (zstd <= 0 && gzip <= 0) return null;
  return zstd >= gzip ? "zstd" : "gzip";
}

/** What a request body's Content-Encoding says. */
export type BodyCoding = "identity" | "gzip" | "unsupported";

/**
 * The coding of a request body from its Content-Encoding field(s): absent or `identity` is
 * `identity`, `gzip` (or `x-gzip`, any case) is `gzip`; anything else — another coding, a list
 * of codings, a second field — is `unsupported` (the core answers 415).
 *
 * @example
 * ```ts
 * bodyCodingOf("GZIP", 1); // "gzip"
 * bodyCodingOf("gzip, gzip", 1); // "unsupported"
 * ```
 */
export function bodyCodingOf(contentEncoding: string | null, fieldCount: number): BodyCoding {
  if (contentEncoding === null) return "identity";
  if (fieldCount > 1 || contentEncoding.length > CODING_FIELD_CHARS_MAX) return "unsupported";
  const coding = contentEncoding.trim().toLowerCase();
  if (coding === "identity" || coding === "") return "identity";
  if (coding === "gzip" || coding === "x-gzip") return "gzip";
  return "unsupported";
}
