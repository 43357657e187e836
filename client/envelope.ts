/**
 * Client-side framing: RpcRequest encoding and RpcResponse decoding with the method's codecs.
 *
 * @module
 */

import { frameByteLength } from "../capnp/mod.ts";
import { measureRequest, readResponse, readResult, writeRequest } from "../rpc/envelope.ts";
import { isErrorCode, RpcError } from "../errors/rpc_error.ts";
import { codecsOf } from "./codecs.ts";

/** Encodes one framed RpcRequest for `method` with `params` (TS values). */
export function encodeRequest(
  method: string,
  requestId: number,
  params: unknown,
): Uint8Array<ArrayBuffer> {
  const request = { requestId, methodName: method, codec: codecsOf(method).params, params };
  const out = new Uint8Array(measureRequest(request));
  writeRequest(request, out);
  return out;
}

/** Turns a decoded RpcError struct into a thrown-able RpcError. */
function toError(e: { code: string; message: string; details: string }, status: number): RpcError {
  let details: Record<string, unknown> | undefined;
  try {
    details = e.details === "" ? undefined : JSON.parse(e.details);
  } catch {
    details = { raw: e.details };
  }
  return new RpcError(isErrorCode(e.code) ? e.code : "unknown", e.message, {
    details,
    httpStatus: status,
  });
}

/** Decodes one framed RpcResponse: the result, or throws its RpcError. */
export function decodeResponse(method: string, bytes: Uint8Array, status: number): unknown {
  const response = readResponse(bytes);
  if (response.error !== null) throw toError(response.error, status);
  return readResult(response, codecsOf(method).result);
}

/** Decodes a batch answer: one result or RpcError per call, in order. */
export function decodeBatch(methods: readonly string[], bytes: Uint8Array): unknown[] {
  const out: unknown[] = [];
  let offset = 0;
  for (const method of methods) {
    if (offset >= bytes.length) {
      throw new RpcError(
        "internal",
        `Cannot read batch: ${out.length} of ${methods.length} answers`,
      );
    }
    const length = frameByteLength(bytes, offset);
    const frame = bytes.subarray(offset, offset + length);
    try {
      out.push(decodeResponse(method, frame, 200));
    } catch (error) {
      if (!(error instanceof RpcError)) throw error;
      out.push(error);
    }
    offset += length;
  }
  return out;
}
