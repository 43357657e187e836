/**
 * What a handler is given besides its params (`HandlerContext`), made once per call.
 *
 * @module
 */

import type { HandlerContext, Services } from "./method.ts";

/** What the context reads of its call (`call.ts`). */
export interface ContextCall {
  readonly callDeadlineAtMs: number;
  readonly services: Services;
  /** The call's abort signal, made on first use. */
  signal(): AbortSignal;
}

/**
 * A handler's context whose `signal` getter makes the call's AbortController only when a handler
 * asks for it. A class: an object literal with a getter takes a slow runtime path per call.
 *
 * @example
 * ```ts
 * const result = spec.handle(params, new LazyHandlerContext(call));
 * ```
 */
export class LazyHandlerContext implements HandlerContext {
  readonly deadlineAtMs: number;
  readonly services: Services;
  readonly #call: ContextCall;

  constructor(call: ContextCall) {
    this.#call = call;
    this.deadlineAtMs = call.callDeadlineAtMs;
    this.services = call.services;
  }

  get signal(): AbortSignal {
    return this.#call.signal();
  }
}
