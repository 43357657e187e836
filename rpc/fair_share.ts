/**
 * Fair shares at admission: the blocks a call takes are charged to its connection and its
 * principal, and a call whose class is at either cap is refused (429 resource_exhausted with
 * Retry-After) before any block is taken. The caps come from the boot plan (pool/share_caps.ts).
 * An admin token is the operator's and is charged to its connection only; without auth there is
 * no principal and only connections are capped.
 *
 * The charge lasts while the call holds its request block (from admission to its release), which
 * is what a stalled or trickled body holds; an answer's block lives only while it is written.
 *
 * @module
 */

import { type ShareCap, shareCaps } from "../pool/share_caps.ts";
import type { Principal } from "./auth.ts";
import type { PoolPlanLike } from "./method.ts";

/** What one connection (or one principal) holds: blocks per class. */
export class ShareAccount {
  readonly heldBlocks: Int32Array;

  constructor(classCount: number) {
    this.heldBlocks = new Int32Array(classCount);
  }
}

/** A charge in force: release it once. */
export interface ShareCharge {
  readonly classIndex: number;
  readonly connection: ShareAccount | null;
  readonly principal: ShareAccount | null;
}

/**
 * The shares of one service.
 *
 * @example
 * ```ts
 * const shares = new FairShares(plan);
 * const account = shares.connectionAccount();
 * const charge = shares.tryCharge(4096, account, null); // a ShareCharge, or a refusal
 * if (typeof charge !== "string") shares.release(charge);
 * ```
 */
export class FairShares {
  readonly caps: readonly ShareCap[];
  readonly #classBytes: readonly number[];
  /** One account per principal; bounded by the configured token count. */
  readonly #principals = new Map<Principal, ShareAccount>();

  constructor(plan: PoolPlanLike) {
    this.caps = Object.freeze(shareCaps(plan.classes));
    this.#classBytes = plan.classes.map((c) => c.blockSizeBytes);
  }

  /** A fresh account for a connection. */
  connectionAccount(): ShareAccount {
    return new ShareAccount(this.caps.length);
  }

  /** The index of the class a block of `sizeBytes` comes from, or -1 when none is that large. */
  classOf(sizeBytes: number): number {
    const sizes = this.#classBytes;
    for (let i = 0; i < sizes.length; i++) if (sizes[i] >= sizeBytes) return i;
    return -1;
  }

  /** The account of a principal charged for its calls (null: not capped, e.g. admin). */
  principalAccount(principal: Principal | null): ShareAccount | null {
    if (principal === null || principal.scope === "admin") return null;
    let account = this.#principals.get(principal);
    if (account === undefined) {
      account = new ShareAccount(this.caps.length);
      this.#principals.set(principal, account);
    }
    return account;
  }

  /** Charges one block of the class for `sizeBytes`, or says which cap refused it. */
  tryCharge(
    sizeBytes: number,
    connection: ShareAccount | null,
    principal: ShareAccount | null,
  ): ShareCharge | "connection" | "principal" {
    const classIndex = this.classOf(sizeBytes);
    if (classIndex < 0) return { classIndex, connection: null, principal: null };
    const cap = this.caps[classIndex];
    if (connection !== null && connection.heldBlocks[classIndex] >= cap.connectionBlocksMax) {
      return "connection";
    }
    if (principal !== null && principal.heldBlocks[classIndex] >= cap.principalBlocksMax) {
      return "principal";
    }
    if (connection !== null) connection.heldBlocks[classIndex]++;
    if (principal !== null) principal.heldBlocks[classIndex]++;
    return { classIndex, connection, principal };
  }

  /** Gives a charge back. */
  release(charge: ShareCharge): void {
    if (charge.classIndex < 0) return;
    if (charge.connection !== null) charge.connection.heldBlocks[charge.classIndex]--;
    if (charge.principal !== null) charge.principal.heldBlocks[charge.classIndex]--;
  }
}

/**
 * The caps as Prometheus gauges (`pool_share_blocks_max{scope,class_bytes}`), for /metrics.
 *
 * @example
 * ```ts
 * const text = metrics.render(pool) + renderShareCaps(shares);
 * ```
 */
export function renderShareCaps(shares: FairShares): string {
  let text =
    "# HELP pool_share_blocks_max Blocks of a class one connection or principal may hold\n" +
    "# TYPE pool_share_blocks_max gauge\n";
  for (const cap of shares.caps) {
    const bytes = cap.blockSizeBytes;
    text += `pool_share_blocks_max{scope="connection",class_bytes="${bytes}"} ` +
      `${cap.connectionBlocksMax}\n`;
    text += `pool_share_blocks_max{scope="principal",class_bytes="${bytes}"} ` +
      `${cap.principalBlocksMax}\n`;
  }
  return text;
}
