/**
 * A raw HTTP/2 client for the engine's tests: it writes exactly the frames a test builds (valid
 * or hostile) and reads every frame the server sends, so tests can assert on the frames, codes
 * and timing the RFC and our limits prescribe. Server SETTINGS are acknowledged automatically
 * unless asked not to; response header blocks are decoded with our own HPACK decoder.
 *
 * Every wait is bounded (the test's clock): a missing frame fails the test instead of hanging.
 *
 * @module
 */

import { Clock } from "../clock/mod.ts";
import { H2_ERROR } from "../http2/errors.ts";
import {
  CONNECTION_PREFACE,
  encodeFrame,
  FRAME_FLAG,
  FRAME_HEADER_BYTES,
  FRAME_TYPE,
  readU32,
} from "../http2/frame.ts";
import { HpackDecoder } from "../http2/hpack.ts";
import type { DynamicTable } from "../http2/hpack_dynamic.ts";
import { encodeFieldBlock } from "../http2/hpack_encoder.ts";
import { encodeSettingsFrame, type SettingEntry } from "../http2/settings.ts";
import { testCertificates } from "./_h2_server.ts";

/** One frame as received. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Uint8Array;
}

/** The default wait for a frame. */
export const FRAME_WAIT_MS = 5000;

/** Options of {@link RawH2Client.connect}. */
export interface RawClientOptions {
  /** h2c prior knowledge instead of TLS. */
  readonly plaintext?: boolean;
  /** Our SETTINGS entries (sent after the preface). */
  readonly settings?: readonly SettingEntry[];
  /** Acknowledge the server's SETTINGS (default true). */
  readonly autoAck?: boolean;
  /** Send the preface and SETTINGS (default true). */
  readonly preface?: boolean;
  /** The CA to trust (default: the engine tests' own certificates). */
  readonly ca?: string;
}

/**
 * A raw client connection.
 *
 * @example
 * ```ts
 * const client = await RawH2Client.connect(server.port);
 * await client.send(client.headers(1, [[":method", "GET"], [":scheme", "https"], [":path", "/"]], true));
 * const frame = await client.waitFor((f) => f.type === FRAME_TYPE.HEADERS);
 * ```
 */
export class RawH2Client {
  readonly conn: Deno.Conn;
  readonly clock = new Clock();
  readonly frames: Frame[] = [];
  readonly decoder = new HpackDecoder({ tableBytes: 4096, headerListBytesMax: 1 << 20 });
  /** The connection was closed by the server (EOF or reset). */
  closed = false;
  #buffer = new Uint8Array(0);
  #waiters: (() => void)[] = [];
  readonly #autoAck: boolean;
  readonly #reading: Promise<void>;
  #ackSent!: () => void;
  readonly #acked = new Promise<void>((resolve) => this.#ackSent = resolve);

  private constructor(conn: Deno.Conn, autoAck: boolean) {
    this.conn = conn;
    this.#autoAck = autoAck;
    this.#reading = this.#readLoop();
  }

  static async connect(port: number, options: RawClientOptions = {}): Promise<RawH2Client> {
    let conn: Deno.Conn;
    if (options.plaintext) {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } else {
      const ca = options.ca ?? (await testCertificates()).ca;
      const tls = await Deno.connectTls({
        hostname: "localhost",
        port,
        caCerts: [ca],
        alpnProtocols: ["h2"],
      });
      await tls.handshake();
      conn = tls;
    }
    const autoAck = options.autoAck ?? true;
    const client = new RawH2Client(conn, autoAck);
    if (options.preface ?? true) {
      await client.send(CONNECTION_PREFACE, encodeSettingsFrame(options.settings ?? []));
      // With auto-ACK, the ACK goes out before the test's first frame (never inside a block).
      if (autoAck) await client.#acked;
    }
    return client;
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      // Reads until the server closes; every pass reads at least one byte.
      for (;;) {
        const n = await this.conn.read(chunk);
        if (n === null) break;
        const joined = new Uint8Array(this.#buffer.length + n);
        joined.set(this.#buffer);
        joined.set(chunk.subarray(0, n), this.#buffer.length);
        this.#buffer = joined;
        this.#parse();
      }
    } catch {
      // Reset or closed by us.
    }
    this.closed = true;
    this.#ackSent();
    this.#wake();
  }

  #parse(): void {
    let at = 0;
    const buf = this.#buffer;
    while (buf.length - at >= FRAME_HEADER_BYTES) {
      const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
      if (buf.length - at < FRAME_HEADER_BYTES + length) break;
      const frame: Frame = {
        type: buf[at + 3],
        flags: buf[at + 4],
        streamId: readU32(buf, at + 5) & 0x7fffffff,
        payload: buf.slice(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length),
      };
      at += FRAME_HEADER_BYTES + length;
      this.frames.push(frame);
      if (
        this.#autoAck && frame.type === FRAME_TYPE.SETTINGS && (frame.flags & FRAME_FLAG.ACK) === 0
      ) {
        this.send(encodeFrame(FRAME_TYPE.SETTINGS, FRAME_FLAG.ACK, 0)).then(
          this.#ackSent,
          () => {},
        );
      }
    }
    this.#buffer = buf.slice(at);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Writes the given byte arrays as one write. */
  async send(...parts: Uint8Array[]): Promise<void> {
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) [out.set(part, at), at += part.length];
    let written = 0;
    while (written < out.length) written += await this.conn.write(out.subarray(written));
  }

  /** A HEADERS frame (END_HEADERS) for `fields`, optionally END_STREAM; `table` for indexing. */
  headers(
    streamId: number,
    fields: readonly (readonly [string, string])[],
    endStream: boolean,
    table?: DynamicTable,
  ): Uint8Array {
    const flags = FRAME_FLAG.END_HEADERS | (endStream ? FRAME_FLAG.END_STREAM : 0);
    return encodeFrame(FRAME_TYPE.HEADERS, flags, streamId, encodeFieldBlock(fields, { table }));
  }

  /** A DATA frame. */
  data(streamId: number, bytes: Uint8Array, endStream: boolean): Uint8Array {
    return encodeFrame(FRAME_TYPE.DATA, endStream ? FRAME_FLAG.END_STREAM : 0, streamId, bytes);
  }

  /** Waits until a frame matching `match` arrived (searching all frames so far); fails on timeout. */
  async waitFor(match: (frame: Frame) => boolean, timeoutMs = FRAME_WAIT_MS): Promise<Frame> {
    const found = await this.waitForOrNull(match, timeoutMs);
    if (found === null) {
      const seen = this.frames.map((f) => `${f.type}/${f.flags}/${f.streamId}`).join(" ");
      throw new Error(`Cannot find the awaited frame within ${timeoutMs} ms; seen: ${seen}`);
    }
    return found;
  }

  /** Like `waitFor`, null when the time is up or the connection closed without it. */
  async waitForOrNull(
    match: (frame: Frame) => boolean,
    timeoutMs = FRAME_WAIT_MS,
  ): Promise<Frame | null> {
    const until = Date.now() + timeoutMs;
    // Each pass waits for new frames or the close; bounded by the deadline.
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      const left = until - Date.now();
      if (this.closed || left <= 0) return null;
      const arrived = new Promise<void>((resolve) => this.#waiters.push(resolve));
      await this.clock.within(arrived, left, undefined);
    }
  }

  /** Waits for the server to close the connection; false when it did not within the time. */
  async waitClosed(timeoutMs = FRAME_WAIT_MS): Promise<boolean> {
    await this.waitForOrNull(() => false, timeoutMs);
    return this.closed;
  }

  /** The GOAWAY the server sent, as { lastStreamId, code, debug }, or null. */
  goaway(): { lastStreamId: number; code: number; debug: string } | null {
    const frame = this.frames.find((f) => f.type === FRAME_TYPE.GOAWAY);
    if (frame === undefined) return null;
    return {
      lastStreamId: readU32(frame.payload, 0) & 0x7fffffff,
      code: readU32(frame.payload, 4),
      debug: new TextDecoder().decode(frame.payload.subarray(8)),
    };
  }

  /** Decodes a response HEADERS frame's block (END_HEADERS, no padding or priority). */
  decodeHeaders(frame: Frame): [string, string][] {
    const fields: [string, string][] = [];
    this.decoder.decode(frame.payload, 0, frame.payload.length, {
      onField: (name, value) => fields.push([name, value]),
    });
    return fields;
  }

  /** The RST_STREAM code received for `streamId`, or undefined. */
  rstCode(streamId: number): number | undefined {
    const frame = this.frames.find((f) =>
      f.type === FRAME_TYPE.RST_STREAM && f.streamId === streamId
    );
    return frame === undefined ? undefined : readU32(frame.payload, 0);
  }

  /** DATA payload bytes received on `streamId`, and whether END_STREAM came. */
  body(streamId: number): { bytes: Uint8Array; ended: boolean } {
    const parts = this.frames.filter((f) => f.streamId === streamId && f.type === FRAME_TYPE.DATA);
    const bytes = new Uint8Array(parts.reduce((n, f) => n + f.payload.length, 0));
    let at = 0;
    for (const part of parts) [bytes.set(part.payload, at), at += part.payload.length];
    const ended = this.frames.some((f) =>
      f.streamId === streamId && (f.flags & FRAME_FLAG.END_STREAM) !== 0 &&
      (f.type === FRAME_TYPE.DATA || f.type === FRAME_TYPE.HEADERS)
    );
    return { bytes, ended };
  }

  /** Closes the connection and stops reading. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Already closed by the server.
    }
    await this.#reading;
    this.clock.close();
  }
}

/** The request fields of a simple request. */
export function requestFields(
  method: string,
  path: string,
  extra: readonly (readonly [string, string])[] = [],
): [string, string][] {
  return [
    [":method", method],
    [":scheme", "https"],
    [":authority", "localhost"],
    [":path", path],
    ...extra.map(([n, v]) => [n, v] as [string, string]),
  ];
}

export { H2_ERROR };
