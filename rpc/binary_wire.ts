/**
 * The Cap'n Proto wire of dispatch: envelope reading (method looked up by its bytes), params
 * decoding in place over the request lease, and responses encoded into a lease and copied out
 * once.
 *
 * @module
 */

import {
  CapnpError,
  measureResponse,
  READ_LIMITS_DEFAULT,
  type ReadLimits,
  readParams,
  readRequest,
  type RequestEnvelope,
  type ResponseOut,
  writeResponse,
} from "../capnp/mod.ts";
import type { BinaryCall, BinaryWire, DecodeParamsOptions, EncodedLease } from "./dispatch.ts";
import { RpcError } from "../errors/rpc_error.ts";
import type { AnyMethodSpec, PoolLike } from "./method.ts";
import type { MethodRegistry } from "./registry.ts";

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
