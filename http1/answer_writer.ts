/**
 * The write side of a connection: RPC answers and the app's responses go out through one
 * output buffer, with one unawaited write in flight at most.
 *
 * A small RPC answer is copied with its head into the output buffer (docs/design.md invariant 4: the one
 * copy out of the lease, into the transport's own buffer), the lease is released at once, and
 * the write starts without the connection waiting for it: the next head's read starts
 * meanwhile, and the next write (or a closing connection) waits for this one first. A large
 * answer is written as its head and then the lease view itself; the write op borrows the view
 * and never detaches it, and the lease is released only once the write has settled.
 *
 * @module
 */

import type { CallAnswer } from "../rpc/answer.ts";
import { type HeadOptions, type ResponseEncoder } from "./response.ts";
import { writeAll } from "./_private.ts";

/** What the writer needs from its connection: the write deadline, and closing on failure. */
export interface WriterHost {
  /** True once the connection is closing: nothing more is written. */
  readonly closing: boolean;
  /** A write starts: its progress deadline applies. */
  enterWrite(): void;
  /** The write is done. */
  leaveWrite(): void;
  /** Closes the connection (a write failed). */
  destroy(): void;
}

/**
 * Writes one connection's answers.
 *
 * @example
 * ```ts
 * const writer = new AnswerWriter(conn, host, { out: new Uint8Array(4096), encoder });
 * const writing = writer.writeAnswer(answer, HEAD_PLAIN);
 * if (writing !== undefined) await writing;
 * ```
 */
export class AnswerWriter {
  /** Whether a byte of the current request's answer was written (reset per request). */
  answerStarted = false;
  readonly #conn: Deno.Conn;
  readonly #host: WriterHost;
  readonly #out: Uint8Array;
  readonly #encoder: ResponseEncoder;
  #flushing: Promise<void> | null = null;
  #sending: Uint8Array = new Uint8Array(0);

  constructor(
    conn: Deno.Conn,
    host: WriterHost,
    options: { readonly out: Uint8Array; readonly encoder: ResponseEncoder },
  ) {
    this.#conn = conn;
    this.#host = host;
    this.#out = options.out;
    this.#encoder = options.encoder;
  }

  /**
   * Writes an RPC answer and releases it. Returns undefined when the answer was handed to the
   * socket without waiting (a kept connection), else a promise that resolves once it is written.
   */
  writeAnswer(answer: CallAnswer, options: HeadOptions): Promise<void> | undefined {
    if (this.#flushing === null && !this.#host.closing) {
      const out = this.#out;
      const n = this.#encoder.encodeCallHead(out, answer, options);
      const body = answer.body;
      if (n + body.length <= out.length) {
        out.set(body, n);
        answer.release();
        this.#send(out.subarray(0, n + body.length));
        return options.connection === "close" ? this.flushed() : undefined;
      }
    }
    return this.#writeAnswerSlow(answer, options);
  }

  /** A large answer (head, then the lease view itself), or one behind a pending write. */
  async #writeAnswerSlow(answer: CallAnswer, options: HeadOptions): Promise<void> {
    try {
      await this.flushed();
      if (this.#host.closing) return;
      const out = this.#out;
      const n = this.#encoder.encodeCallHead(out, answer, options);
      const body = answer.body;
      if (n + body.length <= out.length) {
        out.set(body, n);
        await this.write(out.subarray(0, n + body.length));
      } else {
        await this.write(out.subarray(0, n));
        await this.write(body);
      }
    } finally {
      answer.release();
    }
  }

  /**
   * Starts writing `bytes` without waiting; a failure closes the connection. The handlers are
   * bound once per writer, so a send makes no closure.
   */
  #send(bytes: Uint8Array): void {
    this.answerStarted = true;
    this.#sending = bytes;
    this.#flushing = this.#conn.write(bytes).then(this.#onWritten, this.#onWriteFailed);
  }

  /** The first write of `#send` is done: finish a partial write, or mark the flush complete. */
  readonly #onWritten = (n: number): Promise<void> | undefined => {
    const bytes = this.#sending;
    if (n < bytes.length) {
      return writeAll(this.#conn, bytes.subarray(n)).then(this.#onSent, this.#onWriteFailed);
    }
    this.#flushing = null;
  };

  readonly #onSent = (): void => {
    this.#flushing = null;
  };

  readonly #onWriteFailed = (): void => {
    this.#flushing = null;
    this.#host.destroy();
  };

  /** Waits for the write `#send` started, if any (under the write deadline). */
  async flushed(): Promise<void> {
    const flushing = this.#flushing;
    if (flushing === null) return;
    this.#host.enterWrite();
    await flushing;
    this.#host.leaveWrite();
  }

  /** Writes bytes (looping over partial writes) under the write deadline. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.flushed();
    if (this.#host.closing) throw new Error("Cannot write: the connection is closing");
    this.answerStarted = true;
    this.#host.enterWrite();
    await writeAll(this.#conn, bytes);
    this.#host.leaveWrite();
  }
}
