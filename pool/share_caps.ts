/**
 * Fair shares of the pool, derived from the boot plan: how many blocks of each class one
 * connection, and one principal (a token other than an admin one), may hold at once. Stated as
 * fractions of each class so that no single client can take a class from the others: a client at
 * its cap is refused (429 with Retry-After) before any block is taken, while the rest of the
 * class stays for everyone else (docs/reliability.md, "Fair shares").
 *
 * @module
 */

/** A principal holds at most this fraction of any class (admin tokens are the operator's). */
export const PRINCIPAL_SHARE = 0.5;
/** A connection holds at most this fraction of any class. */
export const CONNECTION_SHARE = 0.25;

/** The caps of one class. */
export interface ShareCap {
  readonly blockSizeBytes: number;
  /** Blocks one principal may hold at once. */
  readonly principalBlocksMax: number;
  /** Blocks one connection may hold at once. */
  readonly connectionBlocksMax: number;
}

/**
 * The caps per class: a fraction of its blocks, at least one.
 *
 * @example
 * ```ts
 * shareCaps([{ blockSizeBytes: 4096, blockCount: 100 }]);
 * // [{ blockSizeBytes: 4096, principalBlocksMax: 50, connectionBlocksMax: 25 }]
 * ```
 */
export function shareCaps(
  classes: readonly { readonly blockSizeBytes: number; readonly blockCount: number }[],
): ShareCap[] {
  return classes.map((c) => {
    if (!Number.isSafeInteger(c.blockCount) || c.blockCount <= 0) {
      throw new RangeError(`Cannot derive shares: class ${c.blockSizeBytes} has ${c.blockCount}`);
    }
    return {
      blockSizeBytes: c.blockSizeBytes,
      principalBlocksMax: Math.max(1, Math.floor(c.blockCount * PRINCIPAL_SHARE)),
      connectionBlocksMax: Math.max(1, Math.floor(c.blockCount * CONNECTION_SHARE)),
    };
  });
}
