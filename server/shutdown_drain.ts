/**
 * Draining the TCP listeners before `Deno.HttpServer.shutdown()`.
 *
 * Why: on Deno 2.9, `shutdown()` makes every in-flight HTTP/1.1 request body unreadable at once
 * ("Cannot read request body as underlying resource unavailable", denoland/deno#36809), so a call
 * whose upload is still arriving would fail with 499 instead of finishing. The service therefore
 * first drains: requests that arrive after the signal are answered 503 `unavailable` with
 * Retry-After (a client or load balancer retries another instance), calls already in flight run
 * to their end, and only when none is left does it call `shutdown()`, which then closes the
 * listening sockets (new connections are refused) and the idle keep-alive connections.
 *
 * @module
 */

/** A request handler as Deno.serve takes it. */
export type TcpHandler = (request: Request) => Response | Promise<Response>;

/** Counts in-flight requests of the handlers it wraps; refuses new ones once draining. */
export class RequestDrain {
  /** The answer to a request that arrives while draining (the call core's 503). */
  readonly #refuse: () => Response;
  #inFlight = 0;
  #draining = false;
  #idle: (() => void) | null = null;

  constructor(refuse: () => Response) {
    this.#refuse = refuse;
  }

  /** Requests whose response is not ready yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether new requests are refused. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Wraps a handler: counts its pending responses, and answers 503 once draining. A synchronous
   * answer stays synchronous (Deno.serve's fast path) and is not counted: it is already done.
   *
   * @example
   * ```ts
   * const drain = new RequestDrain(() => new Response(null, { status: 503 }));
   * Deno.serve({ port: 0 }, drain.wrap(app.fetch));
   * ```
   */
  wrap(handler: TcpHandler): TcpHandler {
    return (request) => {
      if (this.#draining) return this.#refuse();
      const response = handler(request);
      if (!(response instanceof Promise)) return response;
      this.#inFlight++;
      return response.finally(() => {
        this.#inFlight--;
        if (this.#inFlight === 0) this.#idle?.();
      });
    };
  }

  /**
   * Starts draining and resolves when no request is in flight. Not bounded here: the caller
   * bounds the whole shutdown (`--shutdown-timeout-ms`).
   */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        this.#idle = null;
        resolve();
      };
    });
  }
}
