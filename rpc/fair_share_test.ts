import assert from "@std/assert";
import { shareCaps } from "../pool/share_caps.ts";
import { FairShares, renderShareCaps } from "./fair_share.ts";

const plan = {
  classes: [{ blockSizeBytes: 4096, blockCount: 8 }, { blockSizeBytes: 65536, blockCount: 3 }],
  totalBytes: 8 * 4096 + 3 * 65536,
  maxPropertiesPerOverlap: 128,
  messageBytesMax: 65536,
};

Deno.test("fair shares: caps are fractions of each class, at least one block", () => {
  assert.deepEqual(shareCaps(plan.classes), [
    { blockSizeBytes: 4096, principalBlocksMax: 4, connectionBlocksMax: 2 },
    { blockSizeBytes: 65536, principalBlocksMax: 1, connectionBlocksMax: 1 },
  ]);
  assert.throws(() => shareCaps([{ blockSizeBytes: 4096, blockCount: 0 }]), RangeError);
});

Deno.test("fair shares: a connection and a principal are refused at their cap, and refilled", () => {
  const shares = new FairShares(plan);
  const conn = shares.connectionAccount();
  const reader = shares.principalAccount({ name: "r", scope: "read" });
  const first = shares.tryCharge(100, conn, reader);
  const second = shares.tryCharge(4096, conn, reader);
  assert.equal(shares.tryCharge(1, conn, reader), "connection");
  // Another connection of the same token: up to the principal's cap (4).
  const other = shares.connectionAccount();
  const third = shares.tryCharge(10, other, reader);
  const fourth = shares.tryCharge(10, other, reader);
  assert.equal(shares.tryCharge(10, shares.connectionAccount(), reader), "principal");
  // The large class has caps of its own.
  const large = shares.tryCharge(5000, shares.connectionAccount(), reader);
  assert.equal(typeof large, "object");
  for (const charge of [first, second, third, fourth, large]) {
    assert.equal(typeof charge, "object");
    if (typeof charge !== "string") shares.release(charge);
  }
  assert.equal(typeof shares.tryCharge(10, conn, reader), "object");
});

Deno.test("fair shares: admin tokens and calls without auth are charged to the connection only", () => {
  const shares = new FairShares(plan);
  assert.equal(shares.principalAccount({ name: "ops", scope: "admin" }), null);
  assert.equal(shares.principalAccount(null), null);
  const reader = { name: "r", scope: "read" } as const;
  assert.equal(shares.principalAccount(reader), shares.principalAccount(reader));
  assert.equal(shares.classOf(1 << 20), -1);
  assert.match(
    renderShareCaps(shares),
    /pool_share_blocks_max\{scope="principal",class_bytes="4096"\} 4/,
  );
});
