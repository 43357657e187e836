/**
 * The Cap'n Proto wire of the call core: envelope reading (method looked up by its bytes), params
 * decoding in place over the request lease, and responses encoded into a lease and copied out
 * once.
 *
 * @module
 */

import { CapnpError, READ_LIMITS_DEFAULT, type ReadLimits } from "../capnp/mod.ts";
import {
  measureResponse,
  readParams,
  readRequest,
  type RequestEnvelope,
  type ResponseOut,
  writeResponse,
} from "./envelope.ts";
import { RpcError } from "../errors/rpc_error.ts";
import type { AnyMethodSpec, LeaseLike, MethodReadLimits, PoolLike } from "./method.ts";
import type { MethodRegistry } from "./registry.ts";

/** The binary (Cap'n Proto) half of the wire. */
export interface BinaryWire {
  /**
   * Validates a framed RpcRequest's envelope and looks its methodName up in the registry by its
   * bytes (no string decode): methodId is METHOD_ID_NONE for an unknown name. Throws RpcError
   * invalid_argument on a bad frame or envelope.
   */
  readCall(bytes: Uint8Array): BinaryCall;
  /** Decodes the params of a call read by `readCall` with the method's codec and limits. */
  decodeParams(call: BinaryCall, spec: AnyMethodSpec, options?: DecodeParamsOptions): unknown;
  /** Encodes a framed RpcResponse with `result` into a lease and returns one copy of it. */
  encodeResult(requestId: number, spec: AnyMethodSpec, result: unknown): Uint8Array<ArrayBuffer>;
  /**
   * Encodes a framed RpcResponse with `result` into a lease and hands the lease over (the caller
   * writes its first `lengthBytes` and releases it). Throws RpcError unavailable/resource_exhausted.
   */
  encodeResultLease(requestId: number, spec: AnyMethodSpec, result: unknown): EncodedLease;
  /** Encodes a framed RpcResponse carrying `error` (heap memory: errors must not need the pool). */
  encodeError(requestId: number, error: RpcError): Uint8Array<ArrayBuffer>;
}

/** Options of `BinaryWire.decodeParams`. */
export interface DecodeParamsOptions {
  /** The method's decode limits under the plan; null/absent = the defaults. */
  readonly limits?: MethodReadLimits | null;
  /** Data fields as views of the request bytes (see `MethodSpec.paramsDataViews`). */
  readonly dataViews?: boolean;
}

/** An encoded message in a lease: its bytes are `lease.bytes.subarray(0, lengthBytes)`. */
export interface EncodedLease {
  readonly lease: LeaseLike;
  readonly lengthBytes: number;
}

/** A binary call whose envelope was read; the params are not decoded yet. */
export interface BinaryCall {
  readonly requestId: number;
  readonly methodId: number;
  /** The codec's envelope (opaque to the call core). */
  readonly envelope: unknown;
}

/**
 * Read limits for the envelope: the codec's defaults (the method is not known yet). A method's
 * own list limit (e.g. the plan's maxPropertiesPerOverlap) is applied when its params are decoded.
 */
const REQUEST_LIMITS: ReadLimits = READ_LIMITS_DEFAULT;

/** Turns a codec refusal into invalid_argument (the message names what was wrong). */
function invalid(error: unknown): never {
  if (error instanceof CapnpError) {
    throw new RpcError("invalid_argument", error.message, { details: { capnp: error.code } });
  }
  throw error;
}

/**
 * Creates the binary wire over the frozen registry and the pool.
 *
 * @example
 * ```ts
 * const binary = createBinaryWire(registry, pool);
 * const { requestId, methodId } = binary.peekCall(frame);
 * ```
 */
export function createBinaryWire(registry: MethodRegistry, pool: PoolLike): BinaryWire {
  const blockBytesMax = Math.max(...pool.stats().classes.map((c) => c.blockSizeBytes));

  function readEnvelope(bytes: Uint8Array) {
    try {
      return readRequest(bytes, REQUEST_LIMITS);
    } catch (error) {
      return invalid(error);
    }
  }

  function encodeIntoLease(response: ResponseOut<unknown>): EncodedLease {
    const size = measureResponse(response);
    if (size > blockBytesMax) {
      throw new RpcError("resource_exhausted", `Cannot answer: response of ${size} bytes`);
    }
    const lease = pool.tryAcquire(size);
    if (lease === null) throw new RpcError("unavailable", "Cannot answer: pool exhausted, retry");
    try {
      return { lease, lengthBytes: writeResponse(response, lease.bytes) };
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  return {
    readCall(bytes: Uint8Array): BinaryCall {
      const envelope = readEnvelope(bytes);
      const methodId = registry.lookupBytes(
        bytes,
        envelope.methodNameOffset,
        envelope.methodNameLength,
      );
      return { requestId: envelope.requestId, methodId, envelope };
    },
    decodeParams(call: BinaryCall, spec: AnyMethodSpec, options: DecodeParamsOptions = {}) {
      const limits = options.limits ?? undefined;
      const read = options.dataViews === true
        ? { listLengthMax: limits?.listLengthMax, dataViews: true }
        : limits;
      try {
        return readParams(call.envelope as RequestEnvelope, spec.params, read);
      } catch (error) {
        return invalid(error);
      }
    },
    encodeResult(requestId: number, spec: AnyMethodSpec, result: unknown) {
      const { lease, lengthBytes } = encodeIntoLease({ requestId, codec: spec.result, result });
      try {
        // The one copy out of the pool: the caller gets its own buffer, never the lease view.
        return lease.bytes.slice(0, lengthBytes);
      } finally {
        lease.release();
      }
    },
    encodeResultLease(requestId: number, spec: AnyMethodSpec, result: unknown) {
      return encodeIntoLease({ requestId, codec: spec.result, result });
    },
    encodeError(requestId: number, error: RpcError) {
      const details = error.details === undefined ? "" : JSON.stringify(error.details);
      const response = { requestId, error: { code: error.code, message: error.message, details } };
      const out = new Uint8Array(measureResponse(response));
      writeResponse(response, out);
      return out;
    },
  };
}
