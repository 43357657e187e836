/**
 * The worknode and sheaf methods end to end: a real service (real pool, plaintext HTTP/1.1) over
 * each store, called with the typed client in both wire forms (Cap'n Proto and JSON).
 */

import assert from "@std/assert";
import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import { RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { type RunningService, startService } from "../server/service.ts";
import type { StoreKind } from "../store/mod.ts";
import { type FreshStore, openFreshStore, STORE_KINDS } from "./store_harness.ts";
import { fixedPlan } from "./_plan.ts";

const MAX_PROPERTIES_PER_OVERLAP = 128;
/** The largest class holds a maximal overlap: 128 properties of 8 KiB values, ~1.1 MB. */
const CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 64 },
  { blockSizeBytes: 65536, blockCount: 8 },
  { blockSizeBytes: 2 * 1024 * 1024, blockCount: 2 },
];

interface StoreService {
  readonly fresh: FreshStore;
  readonly svc: RunningService;
  readonly pool: Pool;
  client(wire: "capnp" | "json"): RpcClient;
  close(): Promise<void>;
}

async function startStoreService(kind: StoreKind): Promise<StoreService> {
  const fresh = await openFreshStore(kind);
  const pool = Pool.open(CLASSES);
  const dataDir = await Deno.makeTempDir({ prefix: "worknode-store-http-" });
  const plan = fixedPlan(CLASSES, {
    maxPropertiesPerOverlap: MAX_PROPERTIES_PER_OVERLAP,
    profile: "test",
  });
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: 10_000,
  };
  const svc = await startService(config, plan, { pool, store: fresh.store, quiet: true });
  const clients: RpcClient[] = [];
  return {
    fresh,
    svc,
    pool,
    client(wire) {
      const client = new RpcClient({ url: `http://127.0.0.1:${svc.plaintextPort}`, wire });
      clients.push(client);
      return client;
    },
    async close() {
      clients.forEach((client) => client.close());
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await fresh.cleanup();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    assert.equal(error.code, code, error.message);
    return error;
  }
  throw new Error(`expected an RpcError ${code}`);
}

const props = (...pairs: [string, string][]) => pairs.map(([key, value]) => ({ key, value }));

for (const kind of STORE_KINDS) {
  for (const wire of ["capnp", "json"] as const) {
    Deno.test(`http ${kind} ${wire}: worknode create/get/update/delete/list`, async () => {
      const service = await startStoreService(kind);
      try {
        const rpc = service.client(wire);
        const created = await rpc.call<{ id: string; version: number }>("worknode.create", {
          kind: "sensor",
          properties: props(["b", "2"], ["a", "1"]),
          id: "",
        });
        assert.equal(created.version, 1);
        const got = await rpc.call<{ worknode: { properties: unknown; version: number } }>(
          "worknode.get",
          { id: created.id },
        );
        assert.deepEqual(got.worknode.properties, props(["a", "1"], ["b", "2"]));
        const updated = await rpc.call("worknode.update", {
          id: created.id,
          expectedVersion: 1,
          set: props(["c", "3"]),
          remove: ["a"],
        });
        assert.deepEqual(updated, { version: 2 });
        const stale = await rejectsWith(
          rpc.call("worknode.update", { id: created.id, expectedVersion: 1, set: [], remove: [] }),
          "aborted",
        );
        assert.equal(stale.httpStatus, 409);
        assert.equal(stale.details?.currentVersion, 2);
        await rejectsWith(
          rpc.call("worknode.create", { kind: "sensor", properties: [], id: created.id }),
          "already_exists",
        );
        const list = await rpc.call<{ worknodes: { id: string }[]; nextCursor: string }>(
          "worknode.list",
          { kind: "sensor", cursor: "", limit: 0 },
        );
        assert.deepEqual(list.worknodes.map((w) => w.id), [created.id]);
        assert.equal(list.nextCursor, "");
        assert.deepEqual(
          await rpc.call("worknode.delete", { id: created.id, expectedVersion: 2 }),
          {},
        );
        const missing = await rejectsWith(
          rpc.call("worknode.get", { id: created.id }),
          "not_found",
        );
        assert.equal(missing.httpStatus, 404);
        const badValue = await rejectsWith(
          rpc.call("worknode.create", {
            kind: "k",
            properties: props(["k", "v".repeat(8193)]),
            id: "",
          }),
          "invalid_argument",
        );
        assert.equal(badValue.httpStatus, 400);
        await rejectsWith(
          rpc.call("worknode.create", {
            kind: "k",
            properties: props(["k", "1"], ["k", "2"]),
            id: "",
          }),
          "invalid_argument",
        );
      } finally {
        await service.close();
      }
    });
  }

  Deno.test(`http ${kind}: sheaf overlap and glue, overlap limit from the boot plan`, async () => {
    const service = await startStoreService(kind);
    try {
      const rpc = service.client("capnp");
      await rpc.call("worknode.create", {
        kind: "k",
        id: "a",
        properties: props(["s", "1"], ["d", "x"]),
      });
      await rpc.call("worknode.create", {
        kind: "k",
        id: "b",
        properties: props(["s", "1"], ["d", "y"]),
      });
      const verdict = await rpc.call("sheaf.overlap", {
        a: "a",
        b: "b",
        properties: props(["s", "1"], ["d", "x"]),
      });
      assert.deepEqual(verdict, {
        consistent: false,
        conflicts: [{
          key: "d",
          valueA: "x",
          valueB: "y",
          valueClaimed: "x",
          presentInA: true,
          presentInB: true,
        }],
      });
      const glue = { a: "a", b: "b", expectedVersionA: 1, expectedVersionB: 1 };
      await rejectsWith(
        rpc.call("sheaf.glue", { ...glue, properties: props(["d", "z"]), resolve: false }),
        "failed_precondition",
      );
      assert.deepEqual(
        await rpc.call("sheaf.glue", { ...glue, properties: props(["d", "z"]), resolve: true }),
        { versionA: 2, versionB: 2 },
      );
      const tooMany = Array.from(
        { length: MAX_PROPERTIES_PER_OVERLAP + 1 },
        (_, i) => ({ key: `k${i}`, value: "" }),
      );
      const refused = await rejectsWith(
        rpc.call("sheaf.overlap", { a: "a", b: "b", properties: tooMany }),
        "invalid_argument",
      );
      // Refused while decoding (the plan's limit as a read limit), before the handler runs.
      assert.match(refused.message, /length 129 exceeds 128/);
    } finally {
      await service.close();
    }
  });

  Deno.test(`http ${kind}: a maximal overlap (128 x 8 KiB values) goes through the pool`, async () => {
    const service = await startStoreService(kind);
    try {
      const rpc = service.client("capnp");
      const full = Array.from({ length: MAX_PROPERTIES_PER_OVERLAP }, (_, i) => ({
        key: `k${String(i).padStart(3, "0")}`.padEnd(256, "-"),
        value: String.fromCharCode(97 + (i % 26)).repeat(8192),
      }));
      for (const id of ["a", "b"]) {
        await rpc.call("worknode.create", { kind: "big", id, properties: full });
      }
      const allocBefore = service.pool.stats().classes[2].allocTotal;
      const verdict = await rpc.call("sheaf.overlap", { a: "a", b: "b", properties: full });
      assert.deepEqual(verdict, { consistent: true, conflicts: [] });
      const glued = await rpc.call("sheaf.glue", {
        a: "a",
        b: "b",
        expectedVersionA: 1,
        expectedVersionB: 1,
        properties: full,
        resolve: false,
      });
      assert.deepEqual(glued, { versionA: 2, versionB: 2 });
      assert.ok(service.pool.stats().classes[2].allocTotal >= allocBefore + 2, "2 MiB class used");
      assert.equal(service.pool.inUseCount(), 0);
    } finally {
      await service.close();
    }
  });

  Deno.test(`http ${kind}: a verdict too large for one message is refused with its gist`, async () => {
    const service = await startStoreService(kind);
    try {
      const full = (fill: string) =>
        Array.from({ length: MAX_PROPERTIES_PER_OVERLAP }, (_, i) => ({
          key: `k${String(i).padStart(3, "0")}`,
          value: fill.repeat(8192),
        }));
      await service.client("capnp").call("worknode.create", {
        kind: "k",
        id: "a",
        properties: full("a"),
      });
      await service.client("capnp").call("worknode.create", {
        kind: "k",
        id: "b",
        properties: full("b"),
      });
      for (const wire of ["capnp", "json"] as const) {
        const refused = await rejectsWith(
          service.client(wire).call("sheaf.overlap", { a: "a", b: "b", properties: full("c") }),
          "resource_exhausted",
        );
        assert.equal(refused.details?.consistent, false);
        assert.equal(refused.details?.conflictCount, MAX_PROPERTIES_PER_OVERLAP);
        assert.equal((refused.details?.conflictKeys as string[]).length, 64);
      }
      assert.equal(service.pool.inUseCount(), 0);
    } finally {
      await service.close();
    }
  });

  Deno.test(`http ${kind}: 50 concurrent updates of one version -> 1 ok, 49 x 409`, async () => {
    const service = await startStoreService(kind);
    try {
      const rpc = service.client("json");
      const { id } = await rpc.call<{ id: string }>("worknode.create", {
        kind: "race",
        properties: [],
        id: "",
      });
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          rpc.call("worknode.update", {
            id,
            expectedVersion: 1,
            set: props(["winner", String(i)]),
            remove: [],
          }).then(() => "ok", (error: RpcError) => `${error.httpStatus} ${error.code}`)),
      );
      assert.equal(outcomes.filter((o) => o === "ok").length, 1, outcomes.join());
      assert.equal(outcomes.filter((o) => o === "409 aborted").length, 49, outcomes.join());
    } finally {
      await service.close();
    }
  });
}

for (const kind of STORE_KINDS) {
  Deno.test(`http ${kind}: delete + re-create + a stale update answers 409 aborted`, async () => {
    const service = await startStoreService(kind);
    const base = `http://127.0.0.1:${service.svc.plaintextPort}`;
    const post = async (method: string, params: unknown) => {
      const response = await fetch(`${base}/rpc/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
      });
      return { status: response.status, body: await response.json() };
    };
    try {
      const create = { kind: "k", properties: props(["a", "1"]), id: "aba" };
      assert.deepEqual(await post("worknode.create", create), {
        status: 200,
        body: { id: "aba", version: 1 },
      });
      assert.equal((await post("worknode.delete", { id: "aba", expectedVersion: 1 })).status, 200);
      assert.deepEqual(await post("worknode.create", create), {
        status: 200,
        body: { id: "aba", version: 2 },
      });
      // The client that read version 1 before the delete cannot overwrite the new worknode.
      const stale = await post("worknode.update", {
        id: "aba",
        expectedVersion: 1,
        set: props(["a", "mine"]),
        remove: [],
      });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error.code, "aborted");
      assert.equal(stale.body.error.details.currentVersion, 2);
      const got = await post("worknode.get", { id: "aba" });
      assert.deepEqual(got.body.worknode.properties, props(["a", "1"]));
      const ready = await fetch(`${base}/readyz`);
      assert.deepEqual([ready.status, await ready.text()], [200, "ready"]);
    } finally {
      await service.close();
    }
  });
}
