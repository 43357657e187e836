/**
 * The JSON decode budget. A JSON call's params are parsed onto the JS heap (JSON.parse makes
 * strings and objects; the pool cannot hold them), so unlike a Cap'n Proto call its memory is not
 * bounded by its pool block. Each JSON call takes an allowance of JSON_HEAP_FACTOR times its body
 * size from one budget per service when it is admitted, and gives it back when it ends; a call
 * that does not fit is refused 503 `unavailable` with Retry-After before any block is taken. So
 * the heap that JSON calls in flight can hold at once is bounded by `capacityBytes` (stated in
 * docs/reliability.md, "Memory outside the pool").
 *
 * @module
 */

/**
 * Heap bytes a JSON call is charged per body byte: the parsed value (strings of UTF-16 code
 * units, objects, arrays), the decoded params built from it, the result object and its
 * JSON.stringify text, at once (measured on the worknode and echo shapes: 2.1-3.4x).
 */
export const JSON_HEAP_FACTOR = 4;

/** The default budget: 32 MiB of heap for JSON calls in flight. */
export const JSON_BUDGET_BYTES_DEFAULT = 32 * 1024 * 1024;

/**
 * The budget of one service.
 *
 * @example
 * ```ts
 * const budget = new JsonBudget(32 << 20);
 * const charge = budget.tryTake(1000); // 4000, or 0 when spent
 * budget.give(charge);
 * ```
 */
export class JsonBudget {
  readonly capacityBytes: number;
  #inUseBytes = 0;

  constructor(capacityBytes: number = JSON_BUDGET_BYTES_DEFAULT) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
      throw new RangeError(`Cannot make JSON budget: ${capacityBytes} bytes is not positive`);
    }
    this.capacityBytes = capacityBytes;
  }

  /** Heap bytes charged to JSON calls in flight now. */
  get inUseBytes(): number {
    return this.#inUseBytes;
  }

  /**
   * Charges a call of `bodyBytes` (its declared length, or its limit when undeclared): the
   * charge to give back, or 0 when the budget cannot take it. An empty body is charged a
   * minimum of 1 KiB (an empty JSON call still parses and answers).
   */
  tryTake(bodyBytes: number): number {
    const charge = Math.max(1024, bodyBytes) * JSON_HEAP_FACTOR;
    if (this.#inUseBytes + charge > this.capacityBytes) return 0;
    this.#inUseBytes += charge;
    return charge;
  }

  /** Gives a charge back (0 is nothing). */
  give(charge: number): void {
    this.#inUseBytes -= charge;
  }
}
