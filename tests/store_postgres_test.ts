/**
 * PostgreSQL-specific store behaviour: concurrent migrations, connection loss, unreachable
 * server. These tests FAIL (not skip) without WORKNODE_TEST_PG_URL and a reachable server.
 */

import assert from "@std/assert";
import postgres from "postgres";
import { RpcError } from "../errors/rpc_error.ts";
import { openStore } from "../store/mod.ts";
import { openPostgresStore, type PostgresStore } from "../store/postgres.ts";
import { pgTestUrl, uniqueSchema } from "./store_harness.ts";

Deno.test("postgres store: two instances migrating one fresh schema at once both start", async () => {
  const url = pgTestUrl();
  const schema = uniqueSchema();
  const stores: PostgresStore[] = await Promise.all([
    openPostgresStore(url, { schema }),
    openPostgresStore(url, { schema }),
    openPostgresStore(url, { schema }),
  ]);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const { id } = await stores[0].create({ kind: "k", properties: [] });
    assert.equal((await stores[1].get(id)).id, id);
    const rows = await sql`SELECT version FROM ${sql(schema)}.schema_migrations`;
    assert.deepEqual(rows.map((row) => row.version), [1, 2, 3]);
  } finally {
    await sql.end();
    await Promise.all(stores.slice(1).map((store) => store.close()));
    await stores[0].dropSchemaAndClose();
  }
});

Deno.test("postgres store: after its connections are terminated the store reconnects", async () => {
  const url = pgTestUrl();
  const schema = uniqueSchema();
  // A connection killed under the driver can make a graceful close wait; keep that short.
  const store = await openPostgresStore(url, { schema, connectionsMax: 2, closeTimeoutSeconds: 1 });
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const { id } = await store.create({ kind: "k", properties: [] });
    const killed = await admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE application_name = ${"worknode:" + schema}`;
    assert.ok(killed.length >= 1, "no backend of the store was found to terminate");
    // The first call may see the dead socket (then it is `unavailable`, never another error);
    // a bounded number of retries later the store answers again.
    let answered = false;
    for (let attempt = 0; attempt < 5 && !answered; attempt++) {
      try {
        assert.equal((await store.get(id)).id, id);
        answered = true;
      } catch (error) {
        if (!(error instanceof RpcError) || error.code !== "unavailable") throw error;
      }
    }
    assert.ok(answered);
  } finally {
    await admin.end();
    await store.dropSchemaAndClose();
  }
});

Deno.test("postgres store: a connection lost mid-transaction is `unavailable`, nothing applied", async () => {
  const url = pgTestUrl();
  const schema = uniqueSchema();
  const store = await openPostgresStore(url, { schema, connectionsMax: 2, closeTimeoutSeconds: 1 });
  const admin = postgres(url, { max: 2, onnotice: () => {} });
  try {
    await store.create({ kind: "k", id: "a", properties: [{ key: "s", value: "1" }] });
    await store.create({ kind: "k", id: "b", properties: [{ key: "s", value: "1" }] });
    let glue: Promise<unknown> = Promise.resolve();
    await admin.begin(async (tx) => {
      // Hold a's row lock so the glue's transaction waits inside PostgreSQL...
      await tx`SELECT id FROM ${tx(schema)}.worknodes WHERE id = 'a' FOR UPDATE`;
      glue = store.glue({
        a: "a",
        b: "b",
        expectedVersionA: 1,
        expectedVersionB: 1,
        properties: [{ key: "s", value: "2" }],
        resolve: false,
      });
      glue.catch(() => {});
      // ...then kill its backend while it waits: the connection is lost mid-transaction.
      let terminated = 0;
      for (let attempt = 0; attempt < 200 && terminated === 0; attempt++) {
        const rows = await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = ${"worknode:" + schema} AND wait_event_type = 'Lock'`;
        terminated = rows.length;
        if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(terminated, 1, "the glue never waited on the lock");
    });
    await assert.rejects(
      () => glue,
      (error: unknown) => error instanceof RpcError && error.code === "unavailable",
    );
    for (const id of ["a", "b"]) {
      const worknode = await store.get(id);
      assert.equal(worknode.version, 1);
      assert.deepEqual(worknode.properties, [{ key: "s", value: "1" }]);
    }
  } finally {
    await admin.end();
    await store.dropSchemaAndClose();
  }
});

Deno.test("postgres store: an unreachable server is `unavailable`", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const url = `postgres://worknode:worknode@127.0.0.1:${port}/worknode`;
  await assert.rejects(
    () => openPostgresStore(url, { schema: uniqueSchema(), connectTimeoutSeconds: 2 }),
    (error: unknown) => error instanceof RpcError && error.code === "unavailable",
  );
});

Deno.test("postgres store: the URL's schema parameter selects the schema", async () => {
  const schema = uniqueSchema();
  const url = new URL(pgTestUrl());
  url.searchParams.set("schema", schema);
  const store = await openStore(url.href, { dataDir: "." }) as PostgresStore;
  try {
    assert.equal(store.schema, schema);
    const { id } = await store.create({ kind: "k", properties: [] });
    const admin = postgres(pgTestUrl(), { max: 1, onnotice: () => {} });
    try {
      const rows = await admin`SELECT id FROM ${admin(schema)}.worknodes`;
      assert.deepEqual(rows.map((row) => row.id), [id]);
    } finally {
      await admin.end();
    }
  } finally {
    await store.dropSchemaAndClose();
  }
});

Deno.test("postgres store: refuses a non-postgres URL and a bad schema name", async () => {
  await assert.rejects(() => openPostgresStore("mysql://x"), TypeError);
  await assert.rejects(
    () => openPostgresStore(pgTestUrl(), { schema: "Bad-Name" }),
    RangeError,
  );
});
