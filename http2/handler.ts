/**
 * The interface between the HTTP/2 engine and what serves requests (the adapter onto the call
 * core and the Hono app): a request head, the per-stream callbacks the engine calls, and the
 * stream the handler answers on.
 *
 * Callback order for one stream: `onRequest` once; then `onData` zero or more times and `onEnd`
 * at most once (never when `head.endStream` was already true); `onAbort` at most once, never
 * after the response completed, and nothing after it.
 *
 * @module
 */

/** A request's header block, decoded and validated (RFC 9113 §8.3.1). */
export interface H2RequestHead {
  readonly streamId: number;
  /** :method, as sent (case kept). */
  readonly method: string;
  /** :path ("" for CONNECT). */
  readonly path: string;
  /** :scheme ("" for CONNECT). */
  readonly scheme: string;
  /** :authority (or host), null when neither was sent. */
  readonly authority: string | null;
  /** Regular fields, lower-case names, in order; cookie crumbs joined with "; " (RFC 9113 §8.2.3). */
  readonly fields: readonly (readonly [string, string])[];
  /** Parsed content-length (validated: digits only, one value), -1 when absent. */
  readonly contentLengthBytes: number;
  /** END_STREAM was set on the HEADERS: the request has no body (and `onEnd` is not called). */
  readonly endStream: boolean;
}

/** What the engine calls for one request stream. */
export interface H2StreamHandler {
  /** One DATA payload, padding removed; `bytes` is a view valid ONLY during the call (copy it). */
  onData(bytes: Uint8Array): void;
  /**
   * The request body ended (END_STREAM on DATA or on a trailers HEADERS block; trailers are
   * decoded for HPACK state and dropped).
   */
  onEnd(): void;
  /**
   * The stream ended before its response was complete: peer RST_STREAM, connection lost, stream
   * error, write stall. Called at most once, never after the response completed.
   */
  onAbort(reason: Error): void;
}

/** The stream a handler answers on. */
export interface H2ServerStream {
  readonly id: number;
  /** Opens this stream's receive window by `bytes` more (a WINDOW_UPDATE, coalesced into the next write). */
  grant(bytes: number): void;
  /**
   * A whole response: HEADERS, then `body` as DATA frames within the peer's windows, END_STREAM.
   * The engine copies from `body` into its own output as windows allow; `onDone(null)` once the
   * last byte was copied out (then the caller may release the memory `body` views),
   * `onDone(error)` if the stream or connection failed first.
   */
  respond(
    status: number,
    fields: readonly (readonly [string, string])[],
    body: Uint8Array | null,
    onDone?: (error: Error | null) => void,
  ): void;
  /**
   * A streamed response (for the Hono app's Response bodies): head first, then chunks (each
   * resolves when copied out under flow control), then end.
   */
  respondHead(status: number, fields: readonly (readonly [string, string])[]): void;
  write(chunk: Uint8Array): Promise<void>;
  end(): void;
  /** RST_STREAM with `code` (a name from H2_ERROR, e.g. "CANCEL"). */
  reset(code: string): void;
}

/** Serves the requests of a connection. */
export interface H2Handler {
  /**
   * Called synchronously when a request's header block is complete and valid. The handler may
   * respond at once (e.g. an early 401/413/501) and may call grant() at once.
   */
  onRequest(head: H2RequestHead, stream: H2ServerStream): H2StreamHandler;
}
