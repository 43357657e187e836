/**
 * The sheaf overlap check and the gluing condition, as pure functions over property maps.
 *
 * A sheaf overlap is what two worknodes a and b claim about the keys they share. The overlap is
 * consistent when, for every key of the overlap, a and b both hold the key and both hold the
 * claimed value. Gluing writes the overlap's values into both worknodes; it is allowed when a and
 * b agree on every overlap key (both hold the same value, or both lack the key), or when the
 * caller resolves the disagreement explicitly (its values win).
 *
 * @module
 */

import type { Property } from "./limits.ts";

/** One disagreement on an overlap key. Absent values are `""` with `presentIn* = false`. */
export interface Conflict {
  readonly key: string;
  readonly valueA: string;
  readonly valueB: string;
  readonly valueClaimed: string;
  readonly presentInA: boolean;
  readonly presentInB: boolean;
}

/** The verdict of an overlap check. */
export interface OverlapVerdict {
  readonly consistent: boolean;
  readonly conflicts: Conflict[];
}

function conflictOf(
  property: Property,
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
): Conflict {
  const valueA = a.get(property.key);
  const valueB = b.get(property.key);
  return {
    key: property.key,
    valueA: valueA ?? "",
    valueB: valueB ?? "",
    valueClaimed: property.value,
    presentInA: valueA !== undefined,
    presentInB: valueB !== undefined,
  };
}

/**
 * Compares the overlap's claimed values with a's and b's; every key where a, b and the claim do
 * not all agree (including a key missing from a or b) is a conflict, in the message's order.
 *
 * @example
 * ```ts
 * const a = new Map([["color", "red"]]);
 * const b = new Map([["color", "blue"]]);
 * checkOverlap(a, b, [{ key: "color", value: "red" }]).consistent; // false
 * ```
 */
export function checkOverlap(
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
  claimed: readonly Property[],
): OverlapVerdict {
  const conflicts: Conflict[] = [];
  for (const property of claimed) {
    const valueA = a.get(property.key);
    const valueB = b.get(property.key);
    if (valueA !== property.value || valueB !== property.value) {
      conflicts.push(conflictOf(property, a, b));
    }
  }
  return { consistent: conflicts.length === 0, conflicts };
}

/**
 * Returns the overlap keys on which a and b disagree (the gluing condition holds when the list
 * is empty): a key present in only one of them, or present in both with different values.
 *
 * @example
 * ```ts
 * const a = new Map([["k", "1"]]);
 * gluingConflicts(a, new Map(), [{ key: "k", value: "1" }]).length; // 1
 * ```
 */
export function gluingConflicts(
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
  overlap: readonly Property[],
): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const property of overlap) {
    if (a.get(property.key) !== b.get(property.key)) {
      conflicts.push(conflictOf(property, a, b));
    }
  }
  return conflicts;
}
