/**
 * The Cap'n Proto codec: safe, in-place reading of untrusted unpacked frames, and exact-size
 * writing into caller buffers (pool leases). Struct codecs are generated from `schema/*.capnp`
 * into `schema/*_capnp.ts` (`deno task schema`).
 *
 * Reading: `readMessage` checks the frame (segment count before the table, segment sizes
 * against the bytes that arrived) and returns a reader over the same bytes (no copy). Generated
 * readers then bound every pointer, list length (against the bytes that exist, the schema's
 * `listLengthMax` annotations and `ReadLimits.listLengthMax`), Text length (`textBytesMax`),
 * nesting depth and total words read. Every refusal is a `CapnpError` with a `code`.
 *
 * Writing: `measureMessage`/`measureResponse` give the exact framed size first, then
 * `writeMessage`/`writeResponse` write a single-segment frame into the target.
 *
 * @example
 * ```ts
 * import { readParams, readRequest, measureResponse, writeResponse } from "../rpc/envelope.ts";
 * import { SystemEchoParamsCodec, SystemEchoResultCodec } from "./schema/system_capnp.ts";
 * const request = readRequest(leaseView, { listLengthMax: plan.maxPropertiesPerOverlap });
 * const params = readParams(request, SystemEchoParamsCodec);
 * const response = { requestId: request.requestId, codec: SystemEchoResultCodec, result: params };
 * const out = pool.lease(measureResponse(response));
 * const n = writeResponse(response, out.bytes);
 * ```
 *
 * @module
 */
export { CAPNP_ERROR_CODES, CapnpError, type CapnpErrorCode } from "./errors.ts";
export { READ_LIMITS_DEFAULT, type ReadLimits } from "./limits.ts";
export type { StructCodec } from "./codec.ts";
export { LIST_KIND, MessageReader, type PointerRef } from "./reader.ts";
export { frameByteLength, readMessage } from "./frame.ts";
export { measureMessage, MessageWriter, writeMessage } from "./writer.ts";
export { decodeMessage } from "./decode.ts";
export { decodeUtf8, utf8Length } from "./text.ts";
