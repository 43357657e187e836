/**
 * One HTTP/3 connection on the server side (RFC 9114 §6, §8): our control stream with SETTINGS
 * and our QPACK encoder/decoder streams; the peer's control, QPACK encoder and decoder streams
 * (unknown and GREASE stream types are discarded); request streams served by
 * `serveRequestStream`; GOAWAY and draining.
 *
 * Connection errors close the QUIC connection with their H3_* / QPACK_* code. Stream errors end
 * only their stream (see request_stream.ts for what Deno's QUIC API lets us send).
 *
 * @module
 */

import { H3Error } from "./errors.ts";
import { encodeGoawayFrame, encodeSettingsFrame, STREAM_TYPE } from "./frame.ts";
import { DecoderStreamReader, QpackDecoder } from "./qpack_dynamic.ts";
import type { Clock } from "../clock/mod.ts";
import type { CallCore } from "../rpc/core.ts";
import {
  type RequestAbort,
  type RequestStreamContext,
  type RequestStreamLimits,
  serveRequestStream,
} from "./request_stream.ts";
import type { RequestHead } from "./request_head.ts";
import { SectionCache } from "./section_cache.ts";
import { AnswerHeadEncoder } from "./rpc_route.ts";
import { StallWatch, StreamInput } from "./stream_input.ts";
import { readVarint } from "./varint.ts";

/** Limits and SETTINGS of one connection. */
export interface ConnectionLimits extends RequestStreamLimits {
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertise. */
  readonly qpackMaxTableCapacity: number;
  /** SETTINGS_QPACK_BLOCKED_STREAMS we advertise. */
  readonly qpackBlockedStreams: number;
}

/** Options of {@link H3ServerConnection}. */
export interface H3ServerConnectionOptions {
  /** The service's clock (stall timeouts, the GOAWAY flush). */
  readonly clock: Clock;
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** The call core: every /rpc target is served by it (rpc_route.ts); null = all to `fetch`. */
  readonly core?: CallCore | null;
  readonly limits: ConnectionLimits;
}

/** The longest a stream-type prefix can be (a varint). */
const STREAM_TYPE_BYTES_MAX = 8;
/** Bounds the reads of a control or QPACK stream (each read yields at least one byte). */
const CRITICAL_STREAM_CHUNK_COUNT_MAX = 1 << 24;

/** Time for a GOAWAY frame to leave before the connection may be closed. */
const GOAWAY_FLUSH_MS = 100;

type CriticalKind = "control" | "encoder" | "decoder";

/**
 * Serves HTTP/3 on one accepted QUIC connection.
 *
 * @example
 * ```ts
 * const h3 = new H3ServerConnection(conn, { fetch: app.fetch, limits });
 * await h3.goaway(); // on shutdown: no new requests, in-flight ones finish
 * await h3.done;
 * ```
 */
export class H3ServerConnection {
  readonly #conn: Deno.QuicConn;
  readonly #options: H3ServerConnectionOptions;
  readonly #decoder: QpackDecoder;
  readonly #requestAborts = new Set<RequestAbort>();
  readonly #requestContext: RequestStreamContext;
  readonly #stallWatch: StallWatch;
  readonly #critical = new Set<CriticalKind>();
  /** Request streams being served; a counter, not a set of tasks: no closure per request. */
  #activeRequestCount = 0;
  /** Resolved when the last request in flight ends (made only when someone waits). */
  #requestsIdle: PromiseWithResolvers<void> | null = null;
  #control: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #decoderWrites: Promise<void> = Promise.resolve();
  #decoderSend: WritableStreamDefaultWriter<Uint8Array> | null = null;
  /** Held so the stream is not collected (and closed) while the connection lives. */
  #encoderSend: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #nextStreamId = 0;
  #goawayId: number | null = null;
  #closed = false;
  /** Resolves when the connection is closed and every request task has finished. */
  readonly done: Promise<void>;

  constructor(conn: Deno.QuicConn, options: H3ServerConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#stallWatch = new StallWatch(options.limits.stallTimeoutMs, options.clock);
    this.#decoder = new QpackDecoder({
      maxTableCapacity: options.limits.qpackMaxTableCapacity,
      blockedStreamsMax: options.limits.qpackBlockedStreams,
      fieldSectionBytesMax: options.limits.headersBytesMax,
      onDecoderStreamBytes: (bytes) => this.#sendDecoderBytes(bytes),
    });
    const core = options.core ?? null;
    this.#requestContext = {
      decoder: this.#decoder,
      fetch: options.fetch,
      rpc: core === null ? null : {
        core,
        answerHeads: new AnswerHeadEncoder(),
        share: core.deps.shares.connectionAccount(),
        decoder: this.#decoder,
        stallWatch: this.#stallWatch,
        stats: this.stats,
      },
      limits: options.limits,
      stallWatch: this.#stallWatch,
      requestAborts: this.#requestAborts,
      stats: this.stats,
      headCache: new SectionCache<RequestHead>(),
    };
    conn.closed.then(() => this.#onClosed(), () => this.#onClosed());
    this.done = this.#run();
  }

  /** Counters of this connection: requests, QPACK-blocked sections, dynamic-table inserts. */
  readonly stats = { requestCount: 0, blockedSectionCount: 0 };

  /** Entries the peer inserted into our QPACK decoder's dynamic table. */
  get qpackInsertCount(): number {
    return this.#decoder.table.insertCount;
  }

  /** Whether no request is in flight (the connection table may close it to make room). */
  get idle(): boolean {
    return this.#activeRequestCount === 0 && !this.#closed;
  }

  /** Closes now (the connection table's eviction). */
  destroy(): void {
    this.close();
  }

  /** Request streams being served now. */
  get activeRequestCount(): number {
    return this.#activeRequestCount;
  }

  /**
   * Sends GOAWAY: requests on streams the client opens from now on are refused; those already
   * accepted finish. Resolves when every accepted request has finished.
   */
  async goaway(): Promise<void> {
    if (this.#goawayId === null && !this.#closed) {
      this.#goawayId = this.#nextStreamId;
      await this.#control?.write(encodeGoawayFrame(this.#goawayId)).catch(() => {});
      // A close right after the write would discard the frame unsent: give it a moment.
      await this.#options.clock.sleep(GOAWAY_FLUSH_MS);
    }
    await this.#requestsDone();
  }

  /** Closes the connection with an HTTP/3 error code (H3_NO_ERROR for a clean close). */
  close(error?: H3Error): void {
    if (this.#closed) return;
    this.#closed = true;
    const code = error?.code ?? 0x0100;
    const reason = error === undefined ? "" : error.message.slice(0, 120);
    try {
      this.#conn.close({ closeCode: code, reason });
    } catch {
      // Already closed by the peer or the endpoint.
    }
  }

  async #run(): Promise<void> {
    try {
      await this.#openOwnStreams();
      await Promise.all([this.#acceptUniStreams(), this.#acceptRequestStreams()]);
    } catch (error) {
      this.#fail(error);
    }
    await this.#conn.closed.catch(() => {});
    await this.#requestsDone();
  }

  #fail(error: unknown): void {
    if (error instanceof H3Error) {
      this.close(error.scope === "connection" ? error : undefined);
    } else if (!this.#closed) {
      // A transport error: the connection is gone already, or going.
      this.close(new H3Error("H3_INTERNAL_ERROR", "transport error"));
    }
  }

  #onClosed(): void {
    this.#closed = true;
    const reason = new Error("HTTP/3 connection closed");
    // Bounded by the concurrent request streams; aborting removes nothing from the set.
    for (const abort of this.#requestAborts) abort.abort(reason);
    this.#decoder.close();
  }

  async #openOwnStreams(): Promise<void> {
    const limits = this.#options.limits;
    const control = (await this.#conn.createUnidirectionalStream()).getWriter();
    this.#control = control;
    const settings = encodeSettingsFrame({
      qpackMaxTableCapacity: limits.qpackMaxTableCapacity,
      qpackBlockedStreams: limits.qpackBlockedStreams,
      maxFieldSectionSize: limits.headersBytesMax,
    });
    const first = new Uint8Array(1 + settings.length);
    first[0] = STREAM_TYPE.CONTROL;
    first.set(settings, 1);
    await control.write(first);
    // Our encoder never inserts (responses use the static table and literals), but the
    // stream exists so the peer's view of our QPACK state is complete.
    const encoder = (await this.#conn.createUnidirectionalStream()).getWriter();
    await encoder.write(new Uint8Array([STREAM_TYPE.QPACK_ENCODER]));
    this.#encoderSend = encoder;
    const decoder = (await this.#conn.createUnidirectionalStream()).getWriter();
    await decoder.write(new Uint8Array([STREAM_TYPE.QPACK_DECODER]));
    this.#decoderSend = decoder;
  }

  #sendDecoderBytes(bytes: Uint8Array): void {
    // Instructions are queued in order; a failed write means the connection is gone.
    this.#decoderWrites = this.#decoderWrites
      .then(() => this.#decoderSend?.write(bytes))
      .catch(() => {});
  }

  async #acceptRequestStreams(): Promise<void> {
    const reader = this.#conn.incomingBidirectionalStreams.getReader();
    try {
      // Ends when the connection closes; QUIC's stream limit bounds the streams in flight.
      for (;;) {
        const { done, value: stream } = await reader.read();
        if (done) return;
        const streamId = Number(stream.readable.id);
        if (this.#goawayId !== null && streamId >= this.#goawayId) {
          stream.readable.cancel().catch(() => {});
          stream.writable.abort().catch(() => {});
          continue;
        }
        this.#nextStreamId = Math.max(this.#nextStreamId, streamId + 4);
        this.#serveRequest(stream, streamId);
      }
    } catch {
      // The connection closed while accepting.
    } finally {
      reader.releaseLock();
    }
  }

  /** Resolves once no request is in flight. */
  #requestsDone(): Promise<void> {
    if (this.#activeRequestCount === 0) return Promise.resolve();
    this.#requestsIdle ??= Promise.withResolvers<void>();
    return this.#requestsIdle.promise;
  }

  /** Serves one request stream; never rejects (a connection error closes the connection). */
  async #serveRequest(stream: Deno.QuicBidirectionalStream, streamId: number): Promise<void> {
    this.#activeRequestCount++;
    try {
      await serveRequestStream(stream, this.#requestContext, { streamId });
    } catch (error) {
      this.#fail(error);
    } finally {
      if (--this.#activeRequestCount === 0 && this.#requestsIdle !== null) {
        this.#requestsIdle.resolve();
        this.#requestsIdle = null;
      }
    }
  }

  async #acceptUniStreams(): Promise<void> {
    const reader = this.#conn.incomingUnidirectionalStreams.getReader();
    const tasks: Promise<void>[] = [];
    try {
      // Ends when the connection closes; QUIC's stream limit bounds the streams in flight.
      for (;;) {
        const { done, value: stream } = await reader.read();
        if (done) break;
        tasks.push(this.#serveUniStream(stream).catch((error) => this.#fail(error)));
      }
    } catch {
      // The connection closed while accepting.
    } finally {
      reader.releaseLock();
    }
    await Promise.allSettled(tasks);
  }

  async #serveUniStream(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    const { type, rest } = await readStreamType(reader);
    if (type === undefined) return;
    if (type === STREAM_TYPE.PUSH) {
      throw new H3Error("H3_STREAM_CREATION_ERROR", "a client opened a push stream");
    }
    const kind: CriticalKind | undefined = type === STREAM_TYPE.CONTROL
      ? "control"
      : type === STREAM_TYPE.QPACK_ENCODER
      ? "encoder"
      : type === STREAM_TYPE.QPACK_DECODER
      ? "decoder"
      : undefined;
    if (kind === undefined) {
      // Unknown or GREASE stream type: discard (RFC 9114 §6.2).
      await reader.cancel().catch(() => {});
      return;
    }
    if (this.#critical.has(kind)) {
      throw new H3Error("H3_STREAM_CREATION_ERROR", `second ${kind} stream`);
    }
    this.#critical.add(kind);
    if (kind === "control") {
      reader.releaseLock();
      await this.#readControl(stream, rest);
    } else {
      await this.#readQpackStream(kind, reader, rest);
    }
    if (!this.#closed) {
      throw new H3Error("H3_CLOSED_CRITICAL_STREAM", `the peer closed its ${kind} stream`);
    }
  }

  async #readControl(stream: ReadableStream<Uint8Array>, rest: Uint8Array): Promise<void> {
    const input = new StreamInput(prepend(rest, stream), {
      streamKind: "control",
      role: "server",
      // The control stream is quiet for as long as the connection lives.
      stallWatch: null,
      chunkCountMax: CRITICAL_STREAM_CHUNK_COUNT_MAX,
    });
    try {
      // Frames are bounded by the parser's limits and the chunk count.
      for (;;) {
        const frame = await input.nextFrame();
        if (frame === null) return;
        // SETTINGS: we never use the peer's dynamic table, so its values need no action.
        // GOAWAY from a client concerns push, which we never use. PRIORITY_UPDATE is advice.
      }
    } catch (error) {
      // The control stream ending inside a frame is its closing: H3_CLOSED_CRITICAL_STREAM.
      if (error instanceof H3Error && error.codeName === "H3_REQUEST_INCOMPLETE") return;
      if (error instanceof H3Error) {
        throw error.scope === "connection" ? error : new H3Error(error.codeName, error.message);
      }
      // A transport error: the connection is closing.
    } finally {
      input.cancel();
    }
  }

  async #readQpackStream(
    kind: "encoder" | "decoder",
    reader: ReadableStreamDefaultReader<Uint8Array>,
    rest: Uint8Array,
  ): Promise<void> {
    const decoderReader = new DecoderStreamReader();
    const feed = (chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      if (kind === "encoder") this.#decoder.receiveEncoderStream(chunk);
      else decoderReader.push(chunk);
    };
    try {
      feed(rest);
      for (let i = 0; i < CRITICAL_STREAM_CHUNK_COUNT_MAX; i++) {
        const { done, value } = await reader.read();
        if (done) return;
        feed(value);
      }
    } catch (error) {
      if (error instanceof H3Error) throw error;
      // A transport error: the connection is closing.
    } finally {
      reader.releaseLock();
    }
  }
}

/** Reads a unidirectional stream's type varint; type undefined when the stream ends first. */
async function readStreamType(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ type: number | undefined; rest: Uint8Array }> {
  let buffered = new Uint8Array(0);
  // A varint is at most 8 bytes and each read yields at least one.
  for (let i = 0; i < STREAM_TYPE_BYTES_MAX; i++) {
    const read = readVarint(buffered, 0);
    if (read !== undefined) {
      return { type: read.value, rest: buffered.subarray(read.lengthBytes) };
    }
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done || value === undefined) return { type: undefined, rest: buffered };
    const joined = new Uint8Array(buffered.length + value.length);
    joined.set(buffered);
    joined.set(value, buffered.length);
    buffered = joined;
  }
  const read = readVarint(buffered, 0);
  return { type: read?.value, rest: buffered.subarray(read?.lengthBytes ?? 0) };
}

/** A stream that yields `head` first, then the rest of `stream`. */
function prepend(head: Uint8Array, stream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let first = head.length > 0 ? head : null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first !== null) {
        controller.enqueue(first);
        first = null;
        return;
      }
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      return reader.cancel().catch(() => {});
    },
  }, { highWaterMark: 0 });
}
