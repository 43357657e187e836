/**
 * The `system.echo` request bodies the HTTP/3 benchmarks post (h3_bench.ts, h3_bench_cpu.ts):
 * the binary frame (the service's own wire) and the same call in JSON.
 *
 * @module
 */

import { encodeRequest } from "../client/envelope.ts";

const PAYLOAD_TEXT = "benchmark payload of a few dozen bytes";

/** A framed binary `system.echo` RpcRequest (requestId 1) of a few dozen payload bytes. */
export const ECHO_BINARY_BODY: Uint8Array<ArrayBuffer> = encodeRequest("system.echo", 1, {
  payload: new TextEncoder().encode(PAYLOAD_TEXT),
});

/** The same call's JSON params (`payload` in base64). */
export const ECHO_JSON_BODY: string = JSON.stringify({ payload: btoa(PAYLOAD_TEXT) });
