/**
 * Codec speed against JSON in the same run (the baseline of each group).
 *
 * Targets (issue 12): decode+validate of a small request plus measure+encode of a small
 * response >= 3x JSON.parse + JSON.stringify of the same data; decode+validate of a
 * 1,000-property overlap >= 3x JSON.parse of the same data. Run:
 * `deno bench -A bench/codec_bench.ts` (the box is noisy: compare the median of several runs).
 *
 * Both sides decode every string of the message: JSON.parse builds its strings, the codec
 * builds each Text eagerly (short ones through its bounded cache of recent short texts, much
 * as V8's JSON.parse internalizes short strings; the same message decoded again hits it, as a
 * server's repeated keys and kinds do). Every body is warmed up before Deno times it (see the
 * note at the warm-up loop): the only change of shape since issue 3.
 *
 * @module
 */
import {
  measureRequest,
  measureResponse,
  readParams,
  readRequest,
  writeRequest,
  writeResponse,
} from "../rpc/envelope.ts";
import { SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import {
  type WorknodeCreateParams,
  WorknodeCreateParamsCodec,
  WorknodeCreateResultCodec,
} from "../schema/worknode_capnp.ts";

function framed<P>(
  methodName: string,
  codec: typeof WorknodeCreateParamsCodec | typeof SheafOverlapMessageCodec,
  params: P,
): Uint8Array {
  const request = { requestId: 42, methodName, codec, params } as Parameters<
    typeof measureRequest
  >[0];
  const bytes = new Uint8Array(measureRequest(request));
  writeRequest(request, bytes);
  return bytes;
}

const smallParams: WorknodeCreateParams = {
  kind: "sensor",
  id: "",
  properties: [
    { key: "location", value: "rack-7/slot-3" },
    { key: "unit", value: "celsius" },
    { key: "threshold", value: "71.5" },
  ],
};
const smallRequest = framed("worknode.create", WorknodeCreateParamsCodec, smallParams);
const smallRequestJson = JSON.stringify({
  requestId: 42,
  methodName: "worknode.create",
  params: smallParams,
});
const smallResult = { id: "wn-01HZX3K9Q2M4", version: 1 };
const responseBytes = new Uint8Array(4096);

const overlap = {
  a: "wn-a",
  b: "wn-b",
  properties: Array.from({ length: 1000 }, (_, i) => ({
    key: `property-${String(i).padStart(4, "0")}`,
    value: `claimed value ${i} for the overlap`,
  })),
};
const overlapRequest = framed("sheaf.overlap", SheafOverlapMessageCodec, overlap);
const overlapRequestJson = JSON.stringify({
  requestId: 42,
  methodName: "sheaf.overlap",
  params: overlap,
});

let sink = 0;
// Iteration counts are Deno's adaptive defaults, which batch sub-microsecond iterations; a fixed
// large `n` (tried first) timed every call alone and let GC pauses of the harness's sample store
// skew the averages.

function smallJson(): void {
  const request = JSON.parse(smallRequestJson);
  const out = JSON.stringify({ requestId: request.requestId, result: smallResult });
  sink += out.length + request.params.properties.length;
}

function smallCapnp(): void {
  const request = readRequest(smallRequest);
  const params = readParams(request, WorknodeCreateParamsCodec);
  const response = {
    requestId: request.requestId,
    codec: WorknodeCreateResultCodec,
    result: smallResult,
  };
  measureResponse(response);
  sink += writeResponse(response, responseBytes) + params.properties.length;
}

function overlapJson(): void {
  sink += JSON.parse(overlapRequestJson).params.properties.length;
}

function overlapCapnp(): void {
  const request = readRequest(overlapRequest, { listLengthMax: 1024 });
  sink += readParams(request, SheafOverlapMessageCodec).properties.length;
}

// Every body runs a bounded number of times before Deno measures anything. Deno's harness
// times its first 10 ms of calls one by one and, when they average above 10 µs, times every
// later call alone too (each sample then carries the ~100 ns of the timer). The first calls of
// the codec run while V8 still compiles it (pauses of 1-10 ms on a loaded box) while JSON.parse
// is built in, so without this the codec rows flip between batched and call-by-call timing
// from run to run. Both sides get the same warm-up.
for (let i = 0; i < 20_000; i++) {
  smallJson();
  smallCapnp();
}
for (let i = 0; i < 300; i++) {
  overlapJson();
  overlapCapnp();
}

Deno.bench("small request: JSON.parse + JSON.stringify", {
  group: "small",
  baseline: true,
}, smallJson);

Deno.bench(
  "small request: capnp decode+validate + encode response",
  { group: "small" },
  smallCapnp,
);

Deno.bench("1,000-property overlap: JSON.parse", {
  group: "overlap",
  baseline: true,
}, overlapJson);

Deno.bench("1,000-property overlap: capnp decode+validate", { group: "overlap" }, overlapCapnp);

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
