/**
 * Receive-side flow control of one connection (RFC 9113 §5.2, §6.9): the connection window we
 * give the peer, given back as soon as payloads were handed over (nothing waits in our memory),
 * and our initial stream window as the peer sees it — the default 65,535 until it acknowledged
 * our SETTINGS (§6.9.2), ours after.
 *
 * @example
 * ```ts
 * const flow = new ReceiveFlow(limits);
 * flow.consume(frameLength); // throws FLOW_CONTROL_ERROR beyond the window
 * flow.replenish(sender);
 * ```
 * @module
 */

import { H2Error } from "./errors.ts";
import type { H2Limits } from "./limits.ts";
import type { Sender } from "./sender.ts";
import { SETTINGS_INITIAL } from "./settings.ts";

/**
 * The connection receive window and the initial stream window.
 *
 * @example
 * ```ts
 * flow.open(sender); // the first WINDOW_UPDATE, up to connectionWindowBytes
 * ```
 */
export class ReceiveFlow {
  /** Our initial stream window as the peer sees it. */
  initialStreamWindow: number = SETTINGS_INITIAL.initialWindowBytes;
  #window: number = SETTINGS_INITIAL.connectionWindowBytes;
  readonly #target: number;
  readonly #settledInitialStreamWindow: number;
  #consumed = 0;

  constructor(limits: H2Limits) {
    // The connection window starts at 65,535 and can only grow (RFC 9113 §6.9.2).
    this.#target = Math.max(limits.connectionWindowBytes, this.#window);
    this.#settledInitialStreamWindow = limits.initialWindowBytes;
  }

  /** Raises the connection window to its target (with our first frames). */
  open(sender: Sender): void {
    const extra = this.#target - this.#window;
    if (extra <= 0) return;
    sender.grantConnection(extra);
    this.#window += extra;
  }

  /** A DATA frame of `bytes` (padding included) arrived; beyond the window it is an error. */
  consume(bytes: number): void {
    this.#window -= bytes;
    if (this.#window < 0) {
      throw new H2Error("FLOW_CONTROL_ERROR", "DATA beyond the connection window");
    }
    this.#consumed += bytes;
  }

  /** Gives back what was consumed once it is half the window (fewer WINDOW_UPDATEs). */
  replenish(sender: Sender): void {
    if (this.#consumed < this.#target / 2) return;
    sender.grantConnection(this.#consumed);
    this.#window += this.#consumed;
    this.#consumed = 0;
  }

  /**
   * Our SETTINGS were acknowledged: returns the change of the open streams' windows (the
   * peer applies the same change, RFC 9113 §6.9.2).
   */
  settingsAcknowledged(): number {
    const delta = this.#settledInitialStreamWindow - this.initialStreamWindow;
    this.initialStreamWindow = this.#settledInitialStreamWindow;
    return delta;
  }
}
