/**
 * Where the HTTP/3 server's time goes, in process and without QUIC:
 * `deno bench -A bench/h3_bench_layers_bench.ts`.
 *
 * Each iteration serves 64 requests one after another, then lets the event loop turn.
 * `serveRequestStream` (http3/request_stream.ts) serves one request stream made of WHATWG
 * streams holding the bytes our client sends for `POST /rpc/system.echo` (HEADERS + DATA, then
 * FIN); the response is written to a WritableStream that counts bytes. Compared with:
 * - the call core alone (the same body pushed into a call in process, the answer taken),
 * - the same stream served by the RPC route (http3/rpc_route.ts: the call core without
 *   `Request`/`Response`),
 * - the same stream served with a trivial app (`new Response("ok")`): the HTTP/3 layer's own
 *   cost (frames, QPACK, `Request`/`Response` objects, body streams),
 * - the stream objects alone (one BYOB read, one write, close): the floor under both.
 *
 * The real QUIC stream objects and packet work are not in these figures; `h3_bench.ts` measures
 * the whole path between two processes.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { encodeDataFrame, encodeHeadersFrame } from "../http3/frame.ts";
import { encodeFieldSection } from "../http3/qpack.ts";
import { QpackDecoder } from "../http3/qpack_dynamic.ts";
import { type RequestStreamContext, serveRequestStream } from "../http3/request_stream.ts";
import type { RequestHead } from "../http3/request_head.ts";
import { SectionCache } from "../http3/section_cache.ts";
import { AnswerHeadEncoder } from "../http3/rpc_route.ts";
import { H3_LIMITS_DEFAULT } from "../http3/server.ts";
import { StallWatch } from "../http3/stream_input.ts";
import { callInProcess, clock, core } from "./_rpc_in_process.ts";

const body = JSON.stringify({ payload: btoa("benchmark payload of a few dozen bytes") });
const bodyBytes = new TextEncoder().encode(body);
const requestBytes = (() => {
  const headers = encodeHeadersFrame(encodeFieldSection([
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", "localhost:4433"],
    [":path", "/rpc/system.echo"],
    ["content-type", "application/json"],
    ["content-length", String(bodyBytes.length)],
  ]));
  const data = encodeDataFrame(bodyBytes);
  const out = new Uint8Array(headers.length + data.length);
  out.set(headers);
  out.set(data, headers.length);
  return out;
})();

const stallWatch = new StallWatch(H3_LIMITS_DEFAULT.stallTimeoutMs, clock);
const context: RequestStreamContext = {
  decoder: new QpackDecoder({
    maxTableCapacity: H3_LIMITS_DEFAULT.qpackMaxTableCapacity,
    blockedStreamsMax: H3_LIMITS_DEFAULT.qpackBlockedStreams,
    fieldSectionBytesMax: H3_LIMITS_DEFAULT.headersBytesMax,
    onDecoderStreamBytes: () => {},
  }),
  fetch: () => new Response("ok"),
  rpc: null,
  limits: H3_LIMITS_DEFAULT,
  stallWatch,
  requestAborts: new Set(),
  stats: { requestCount: 0, blockedSectionCount: 0 },
  headCache: new SectionCache<RequestHead>(),
};
const trivialContext: RequestStreamContext = context;
/** The RPC route: `POST /rpc/<method>` served by the call core, no Request or Response. */
const directContext: RequestStreamContext = {
  ...context,
  rpc: {
    core,
    share: core.deps.shares.connectionAccount(),
    answerHeads: new AnswerHeadEncoder(),
    decoder: context.decoder,
    stallWatch,
    stats: context.stats,
  },
};

let nextStreamId = 0;
let writtenBytes = 0;

/** A request stream of WHATWG streams: the request's bytes then FIN; the response is counted. */
function requestStream(): Deno.QuicBidirectionalStream {
  const readable = new ReadableStream({
    type: "bytes",
    start(controller) {
      controller.enqueue(requestBytes.slice());
      controller.close();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      writtenBytes += chunk.length;
    },
  });
  Object.defineProperty(readable, "id", { value: BigInt(nextStreamId) });
  nextStreamId += 4;
  return { readable, writable } as unknown as Deno.QuicBidirectionalStream;
}

/** Requests per benchmark iteration. */
const BATCH_COUNT = 64;

/**
 * Runs `call` `BATCH_COUNT` times, then lets the event loop turn: V8 keeps the targets of new
 * WeakRefs (Deno's dependent AbortSignals make some per request) alive until the current job
 * ends, so a loop that never yields to the event loop grows the heap, which a server does not.
 */
async function batch(call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < BATCH_COUNT; i++) await call();
  // setImmediate, not setTimeout(0): Deno clamps the timer to >= 1 ms.
  await new Promise((resolve) => setImmediate(resolve));
}

async function callCore(): Promise<void> {
  const { status } = await callInProcess(core, "system.echo", "application/json", bodyBytes);
  if (status !== 200) throw new Error(`status ${status}`);
}

async function streamObjectsOnly(): Promise<void> {
  const stream = requestStream();
  const reader = stream.readable.getReader({ mode: "byob" });
  await reader.read(new Uint8Array(4096));
  await reader.cancel();
  const writer = stream.writable.getWriter();
  await writer.write(new Uint8Array(16));
  await writer.close();
}

globalThis.addEventListener("unload", () => {
  if (writtenBytes === 0) throw new Error("no response bytes were written");
});

Deno.bench({
  name: "call core alone (body pushed in process) x64",
  group: "h3 layers",
  baseline: true,
  async fn() {
    await batch(callCore);
  },
});

Deno.bench({
  name: "h3 request stream + RPC route x64",
  group: "h3 layers",
  async fn() {
    await batch(() => serveRequestStream(requestStream(), directContext));
  },
});

Deno.bench({
  name: "h3 request stream + trivial app x64",
  group: "h3 layers",
  async fn() {
    await batch(() => serveRequestStream(requestStream(), trivialContext));
  },
});

Deno.bench({
  name: "stream objects alone (read, write, close) x64",
  group: "h3 layers",
  async fn() {
    await batch(streamObjectsOnly);
  },
});
