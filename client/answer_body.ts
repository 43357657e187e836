/**
 * Reading an answer's body: the client asks for compressed answers itself (`Accept-Encoding:
 * zstd, gzip`), so every transport — `fetch`, which then leaves the body coded, and the HTTP/3
 * client — hands over the coded bytes, and they are decoded here, bounded.
 *
 * @module
 */

import zlib from "node:zlib";

/** What the client sends as Accept-Encoding (the codings it decodes). */
export const CLIENT_ACCEPT_ENCODING = "zstd, gzip";

/** The largest decoded answer the client accepts by default (64 MiB). */
export const ANSWER_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/**
 * The body of `response`, decoded from its Content-Encoding (`gzip`, `zstd`, or none). Throws
 * TypeError for another coding and RangeError when the decoded body exceeds `bytesMax`.
 *
 * @example
 * ```ts
 * const bytes = await readAnswerBody(response, ANSWER_BYTES_MAX_DEFAULT);
 * ```
 */
export async function readAnswerBody(response: Response, bytesMax: number): Promise<Uint8Array> {
  const coded = new Uint8Array(await response.arrayBuffer());
  const coding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (coding === "identity") {
    if (coded.length > bytesMax) {
      throw new RangeError(`Cannot read answer: ${coded.length} bytes exceed ${bytesMax}`);
    }
    return coded;
  }
  try {
    if (coding === "gzip") return zlib.gunzipSync(coded, { maxOutputLength: bytesMax });
    if (coding === "zstd") return zlib.zstdDecompressSync(coded, { maxOutputLength: bytesMax });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RangeError(`Cannot decode a ${coding} answer: ${message}`, { cause: error });
  }
  throw new TypeError(`Cannot read answer: unknown Content-Encoding ${coding.slice(0, 40)}`);
}
