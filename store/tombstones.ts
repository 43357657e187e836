/**
 * Tombstones: why versions never go backwards for an id, on both stores.
 *
 * A delete removes the worknode and its properties and records a tombstone `(id, version)` in
 * the `tombstones` table, which `get`, `list`, `overlap`, `glue` and `update` never read (they
 * read `worknodes` only), so a deleted id is simply absent. A create of that id takes the
 * tombstone's version plus one and removes the tombstone in the same transaction (PostgreSQL:
 * the same function call), so a client still holding an `expectedVersion` from before the
 * delete gets `aborted` (409), never a match by accident (ABA).
 *
 * What bounds them: every tombstone gets a sequence number; each {@link purgeBatch}-th delete
 * drops the tombstones more than `tombstonesMax` sequence numbers old, after raising the
 * `version_floor` row to the highest version among them. A create of an id without a tombstone
 * starts above that floor (`floor + 1`, so version 1 until the first purge), which keeps the
 * guarantee for purged ids too. So at most `tombstonesMax + purgeBatch - 1` tombstones exist
 * (default 65,536 + 1,023; a row is the id, at most 256 bytes, plus three integers: under
 * 20 MiB at the worst, ~5 MiB with generated 32-character ids), whatever the delete rate.
 *
 * @module
 */

/** Tombstones kept before the oldest are purged (store options may lower it, e.g. tests). */
export const TOMBSTONES_MAX_DEFAULT = 65_536;
/** The largest purge batch: one purge per this many deletes. */
export const TOMBSTONE_PURGE_BATCH_MAX = 1024;

/**
 * How many deletes pass between purges: at most {@link TOMBSTONE_PURGE_BATCH_MAX}, and at most
 * `tombstonesMax`, so the bound stays below twice the cap.
 *
 * @example
 * ```ts
 * purgeBatch(65_536); // 1024
 * purgeBatch(4); // 4
 * ```
 */
export function purgeBatch(tombstonesMax: number): number {
  return Math.min(TOMBSTONE_PURGE_BATCH_MAX, tombstonesMax);
}

/**
 * Validates a `tombstonesMax` option (a positive safe integer) and returns it, or the default.
 *
 * @example
 * ```ts
 * checkTombstonesMax(undefined); // 65536
 * ```
 */
export function checkTombstonesMax(tombstonesMax: number | undefined): number {
  const value = tombstonesMax ?? TOMBSTONES_MAX_DEFAULT;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot open store: tombstonesMax ${value} is not a positive integer`);
  }
  return value;
}
