/**
 * The RPC envelope, beside the binary wire that uses it (binary_wire.ts): read an RpcRequest without decoding its method name, decode its params
 * with a method's codec, and measure/write an RpcResponse with a result or an RpcError.
 *
 * @module
 */
import {
  type RpcError,
  RpcErrorCodec,
  RpcRequestLayout,
  RpcResponseLayout,
} from "../schema/rpc_capnp.ts";
import type { StructCodec } from "../capnp/codec.ts";
import { CapnpError } from "../capnp/errors.ts";
import type { ReadLimits } from "../capnp/limits.ts";
import { type MessageReader, type PointerRef, RESOLVED as R } from "../capnp/reader.ts";
import { readMessage } from "../capnp/frame.ts";
import { decodeUtf8 } from "../capnp/text.ts";
import { finishMessage, startMessage, textWords } from "../capnp/writer.ts";

/** A validated RpcRequest: everything but the params is read; the params are not decoded. */
export interface RequestEnvelope {
  readonly message: MessageReader;
  readonly requestId: number;
  /** Byte offset of the methodName's UTF-8 bytes inside the bytes given to readRequest. */
  readonly methodNameOffset: number;
  /** Byte length of the methodName (without NUL); 0 when absent. */
  readonly methodNameLength: number;
  /** Where the params pointer sits; `position` is -1 when the request has none. */
  readonly params: PointerRef;
}

/** A validated RpcResponse: a result pointer (not decoded) or a decoded RpcError. */
export interface ResponseEnvelope {
  readonly message: MessageReader;
  readonly requestId: number;
  readonly result: PointerRef | null;
  readonly error: RpcError | null;
}

/** An RpcResponse to write: a result with its codec, or an error. */
export type ResponseOut<T> =
  | { readonly requestId: number; readonly codec: StructCodec<T>; readonly result: T }
  | { readonly requestId: number; readonly error: RpcError };

/** An RpcRequest to write (clients, tests, benchmarks). */
export interface RequestOut<P> {
  readonly requestId: number;
  readonly methodName: string;
  readonly codec: StructCodec<P>;
  readonly params: P;
}

const REQ = RpcRequestLayout;
const RES = RpcResponseLayout;
const NO_POINTER: PointerRef = { segment: 0, position: -1 };
// The layout offsets as plain constants (the layout objects' nested fields would be three
// dependent loads per use on the hot path).
const REQ_ID_BYTE = REQ.fields.requestId.byteOffset;
const REQ_NAME_AT = 8 * REQ.fields.methodName.pointerIndex;
const REQ_PARAMS_AT = 8 * REQ.fields.params.pointerIndex;

/**
 * Validates the frame and reads the RpcRequest envelope in place. The method name is returned
 * as a byte range, so a registry can look it up without decoding it to a string.
 *
 * @example
 * ```ts
 * const request = readRequest(body, { segmentCountMax: 64 });
 * const id = registry.lookupBytes(body, request.methodNameOffset, request.methodNameLength);
 * const params = readParams(request, SystemEchoParamsCodec);
 * ```
 */
export function readRequest(bytes: Uint8Array, limits?: ReadLimits): RequestEnvelope {
  const m = readMessage(bytes, limits);
  if (!m.resolveStruct(0, m.segments[0], 1)) {
    return {
      message: m,
      requestId: 0,
      methodNameOffset: 0,
      methodNameLength: 0,
      params: NO_POINTER,
    };
  }
  const seg = R.seg;
  const d = R.pos;
  const db = R.dataBytes;
  const pc = R.ptrCount;
  const p = d + db;
  const requestId = db > REQ_ID_BYTE ? m.u64(d + REQ_ID_BYTE) : 0;
  let methodNameOffset = 0;
  let methodNameLength = 0;
  if (pc * 8 > REQ_NAME_AT && m.textRange(seg, p + REQ_NAME_AT, 0x7fffffff)) {
    methodNameOffset = R.pos - m.base;
    methodNameLength = R.count;
  }
  const params = pc * 8 > REQ_PARAMS_AT
    ? { segment: seg, position: p + REQ_PARAMS_AT }
    : NO_POINTER;
  return { message: m, requestId, methodNameOffset, methodNameLength, params };
}

/**
 * The method name of a request as a string (validated UTF-8), for messages and logs.
 *
 * @example
 * ```ts
 * methodNameOf(readRequest(body)); // "system.echo"
 * ```
 */
export function methodNameOf(request: RequestEnvelope): string {
  const m = request.message;
  return decodeUtf8(m.u8, m.base + request.methodNameOffset, request.methodNameLength);
}

/**
 * Decodes the params of a request with the method's codec (bounds, depth and traversal
 * limits of the message apply). Absent params decode as the struct's defaults. `limits` can
 * only tighten the message's own list-length limit, for this decode alone: the method is known
 * only after the envelope was read, so a per-method limit is applied here. With `dataViews`,
 * Data fields are views of the request bytes (no copy): the caller keeps those bytes unchanged
 * while the params are in use.
 *
 * @example
 * ```ts
 * const params = readParams(request, WorknodeGetParamsCodec);
 * const overlap = readParams(request, SheafOverlapMessageCodec, { listLengthMax: 1024 });
 * ```
 */
export function readParams<P>(
  request: RequestEnvelope,
  codec: StructCodec<P>,
  limits?: Pick<ReadLimits, "listLengthMax"> & { readonly dataViews?: boolean },
): P {
  const lengthMax = limits?.listLengthMax;
  const m = request.message;
  m.dataViews = limits?.dataViews === true;
  if (lengthMax === undefined || lengthMax >= m.listLengthMax) {
    return readPointer(m, request.params, codec);
  }
  if (!Number.isSafeInteger(lengthMax) || lengthMax < 0) {
    throw new RangeError(`Cannot read params: listLengthMax ${lengthMax} is not a count`);
  }
  const before = m.listLengthMax;
  m.listLengthMax = lengthMax;
  try {
    return readPointer(m, request.params, codec);
  } finally {
    m.listLengthMax = before;
  }
}

function readPointer<T>(m: MessageReader, at: PointerRef, codec: StructCodec<T>): T {
  if (at.position < 0) return codec.readBody(m, 0, 0, 0, 0, 2);
  return m.structField(at.segment, at.position, 1, codec);
}

/**
 * Validates the frame and reads an RpcResponse; the result is left undecoded.
 *
 * @example
 * ```ts
 * const response = readResponse(body);
 * if (response.error) throw new Error(response.error.message);
 * const result = readResult(response, SystemEchoResultCodec);
 * ```
 */
export function readResponse(bytes: Uint8Array, limits?: ReadLimits): ResponseEnvelope {
  const m = readMessage(bytes, limits);
  if (!m.resolveStruct(0, m.segments[0], 1)) {
    return { message: m, requestId: 0, result: NO_POINTER, error: null };
  }
  const seg = R.seg;
  const d = R.pos;
  const db = R.dataBytes;
  const pc = R.ptrCount;
  const requestId = db > RES.fields.requestId.byteOffset ? m.u64(d) : 0;
  const discAt = RES.discriminantByteOffset;
  const which = db > discAt ? m.view.getUint16(d + discAt, true) : 0;
  const at: PointerRef = pc > 0 ? { segment: seg, position: d + db } : NO_POINTER;
  if (which === RES.fields.result.discriminant) {
    return { message: m, requestId, result: at, error: null };
  }
  if (which !== RES.fields.error.discriminant) {
    throw new CapnpError("bad_value", `Cannot read response: unknown union member ${which}`);
  }
  return { message: m, requestId, result: null, error: readPointer(m, at, RpcErrorCodec) };
}

/**
 * Decodes the result of a response with the method's codec.
 *
 * @example
 * ```ts
 * const result = readResult(readResponse(body), SystemEchoResultCodec);
 * ```
 */
export function readResult<R>(response: ResponseEnvelope, codec: StructCodec<R>): R {
  if (response.result === null) {
    throw new TypeError("Cannot read result: the response carries an error");
  }
  return readPointer(response.message, response.result, codec);
}

function childWords<T>(response: ResponseOut<T>): number {
  if ("error" in response) {
    return RpcErrorCodec.dataWords + RpcErrorCodec.pointerCount +
      RpcErrorCodec.measureChildren(response.error);
  }
  const codec = response.codec;
  return codec.dataWords + codec.pointerCount + codec.measureChildren(response.result);
}

/**
 * Exact framed size of an RpcResponse, so the caller can lease the right block class.
 *
 * @example
 * ```ts
 * const size = measureResponse({ requestId: 1, codec: SystemEchoResultCodec, result });
 * ```
 */
export function measureResponse<T>(response: ResponseOut<T>): number {
  return 16 + (RES.dataWords + RES.pointerCount + childWords(response)) * 8;
}

/**
 * Writes a framed RpcResponse into `target` (a pool lease view); returns the bytes written.
 *
 * @example
 * ```ts
 * const n = writeResponse({ requestId: 1, error: { code, message, details: "" } }, lease);
 * ```
 */
export function writeResponse<T>(response: ResponseOut<T>, target: Uint8Array): number {
  const w = startMessage(target);
  const d = w.allocStruct(w.base + 8, RES.dataWords, RES.pointerCount);
  w.u64(d + RES.fields.requestId.byteOffset, response.requestId);
  const ptr = d + RES.dataWords * 8;
  if ("error" in response) {
    w.view.setUint16(d + RES.discriminantByteOffset, RES.fields.error.discriminant, true);
    w.struct(ptr + 8 * RES.fields.error.pointerIndex, RpcErrorCodec, response.error);
  } else {
    w.struct(ptr + 8 * RES.fields.result.pointerIndex, response.codec, response.result);
  }
  return finishMessage(w);
}

/**
 * Exact framed size of an RpcRequest.
 *
 * @example
 * ```ts
 * measureRequest({ requestId: 1, methodName: "system.echo", codec, params });
 * ```
 */
export function measureRequest<P>(request: RequestOut<P>): number {
  const codec = request.codec;
  const paramWords = codec.dataWords + codec.pointerCount + codec.measureChildren(request.params);
  return 16 + (REQ.dataWords + REQ.pointerCount + textWords(request.methodName) + paramWords) * 8;
}

/**
 * Writes a framed RpcRequest into `target`; returns the bytes written.
 *
 * @example
 * ```ts
 * const out = new Uint8Array(measureRequest(request));
 * writeRequest(request, out);
 * ```
 */
export function writeRequest<P>(request: RequestOut<P>, target: Uint8Array): number {
  const w = startMessage(target);
  const d = w.allocStruct(w.base + 8, REQ.dataWords, REQ.pointerCount);
  w.u64(d + REQ.fields.requestId.byteOffset, request.requestId);
  const ptr = d + REQ.dataWords * 8;
  w.text(ptr + 8 * REQ.fields.methodName.pointerIndex, request.methodName);
  w.struct(ptr + 8 * REQ.fields.params.pointerIndex, request.codec, request.params);
  return finishMessage(w);
}
