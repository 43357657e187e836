/**
 * PostgreSQL fault: the real service in a child process on `--store postgres://...` (the test
 * server of WORKNODE_TEST_PG_URL, a schema of its own) takes a stream of acknowledged writes from
 * two writers. The test stops PostgreSQL mid-run (`pg_ctlcluster 15 main stop`): calls answer
 * 503 `unavailable` within a bound (no 500, no hang) and `/readyz` goes not-ready. It starts
 * PostgreSQL again: `/readyz` is ready, writes succeed again, and afterwards every acknowledged
 * write is present. PostgreSQL is restarted (and waited for) in a finally block, so tests after
 * this one find it running. This is the only test that stops the server.
 */

import assert from "@std/assert";
import { RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { openPostgresStore } from "../store/postgres.ts";
import { sleep, startStressChild } from "./_stress.ts";
import { pgTestUrl, uniqueSchema } from "./store_harness.ts";

/** The newest installed PostgreSQL major version's `main` cluster (as ensure_postgres picks). */
function clusterOf(): string[] {
  let versions: string[] = [];
  try {
    versions = [...Deno.readDirSync("/etc/postgresql")].map((e) => e.name).filter((n) =>
      /^\d+$/.test(n)
    );
  } catch {
    // No Debian PostgreSQL: pg_ctlcluster fails below with a clear message.
  }
  versions.sort((a, b) => Number(a) - Number(b));
  return [versions.at(-1) ?? "15", "main"];
}

const CLUSTER = clusterOf();
/** A call must end (with any outcome) within this bound, even while PostgreSQL is down. */
const CALL_BOUND_MS = 10_000;
const WRITERS = 2;
const WORKNODES_PER_WRITER = 3;
/** Bounds of each phase's wait loops. */
const PHASE_TIMEOUT_MS = 30_000;

/** Runs `pg_ctlcluster 15 main <action>`; true when it exited 0. */
async function pgCtl(action: "start" | "stop" | "status"): Promise<boolean> {
  const args = action === "stop" ? [...CLUSTER, "stop", "-m", "fast"] : [...CLUSTER, action];
  const output = await new Deno.Command("pg_ctlcluster", { args, stdout: "null", stderr: "null" })
    .output();
  return output.success;
}

/** Starts PostgreSQL if it is not running and waits until it accepts a query. */
async function ensurePgRunning(url: string): Promise<void> {
  if (!await pgCtl("status")) await pgCtl("start");
  const until = Date.now() + PHASE_TIMEOUT_MS;
  for (let i = 0; i < 1000; i++) {
    const probe = await new Deno.Command("pg_isready", {
      args: ["-d", url, "-t", "2"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (probe.success) return;
    if (Date.now() > until) throw new Error("PostgreSQL did not come back within 30 s");
    await sleep(200);
  }
}

/** What the writers saw. */
interface WriteLog {
  /** id -> acknowledged versions (each version v wrote the property `v<v>`). */
  readonly acked: Map<string, number[]>;
  /** Error code -> count. */
  readonly errors: Map<string, number>;
  /** Calls that did not end within CALL_BOUND_MS. */
  hung: number;
  /** The slowest call's duration (any outcome). */
  callMsMax: number;
  /** Acks after `markMs`. */
  acksAfterMark: number;
  markMs: number;
  stop: boolean;
}

/** One call, bounded; records an error's code, returns the result or null. */
async function bounded<R>(log: WriteLog, run: (signal: AbortSignal) => Promise<R>) {
  const startMs = Date.now();
  try {
    return await run(AbortSignal.timeout(CALL_BOUND_MS));
  } catch (error) {
    if (error instanceof RpcError) {
      log.errors.set(error.code, (log.errors.get(error.code) ?? 0) + 1);
    } else if (error instanceof DOMException && error.name === "TimeoutError") log.hung++;
    else log.errors.set(`transport: ${error}`, 1);
    await sleep(20);
    return null;
  } finally {
    log.callMsMax = Math.max(log.callMsMax, Date.now() - startMs);
  }
}

/** One writer: creates its worknodes, then updates them round-robin until told to stop. */
async function writer(rpc: RpcClient, w: number, log: WriteLog): Promise<void> {
  const ids = Array.from({ length: WORKNODES_PER_WRITER }, (_, i) => `pgf-${w}-${i}`);
  const versions = new Map<string, number>();
  for (const id of ids) {
    for (let attempt = 0; attempt < 100 && !versions.has(id); attempt++) {
      const created = await bounded(
        log,
        (signal) =>
          rpc.call<{ version: number }>("worknode.create", {
            kind: "pg-fault",
            properties: [{ key: "v1", value: "x" }],
            id,
          }, { signal }),
      );
      if (created !== null) versions.set(id, Number(created.version));
    }
    if (!versions.has(id)) throw new Error(`could not create ${id}`);
    log.acked.set(id, [versions.get(id)!]);
  }
  for (let i = 0; i < 100_000 && !log.stop; i++) {
    const id = ids[i % ids.length];
    const expected = versions.get(id)!;
    const result = await bounded(log, (signal) =>
      rpc.call<{ version: number }>("worknode.update", {
        id,
        expectedVersion: expected,
        set: [{ key: `v${expected + 1}`, value: "x" }],
        remove: [],
      }, { signal }));
    if (result !== null) {
      versions.set(id, Number(result.version));
      log.acked.get(id)!.push(Number(result.version));
      if (Date.now() > log.markMs) log.acksAfterMark++;
      continue;
    }
    // An update whose answer was lost may have committed: read the version back.
    const got = await bounded(
      log,
      (signal) => rpc.call<{ worknode: { version: number } }>("worknode.get", { id }, { signal }),
    );
    if (got !== null) versions.set(id, Number(got.worknode.version));
  }
}

/** Polls `/readyz` until its status is `status`; returns false on timeout. */
async function readyzBecomes(baseUrl: string, status: number): Promise<boolean> {
  const until = Date.now() + PHASE_TIMEOUT_MS;
  while (Date.now() < until) {
    const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    if (response.status === status) return true;
    await sleep(100);
  }
  return false;
}

/** Waits until `check()` holds, polling every 50 ms for at most PHASE_TIMEOUT_MS. */
async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + PHASE_TIMEOUT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not reached within 30 s: ${what}`);
    await sleep(50);
  }
}

Deno.test("pg fault: PostgreSQL stopped mid-run -> 503 unavailable, recovery, no ack lost", async () => {
  const url = pgTestUrl();
  await ensurePgRunning(url);
  const schema = uniqueSchema();
  const dataDir = await Deno.makeTempDir({ prefix: "stress-pg-fault-" });
  const child = await startStressChild({ poolBytes: 32 << 20, dataDir, pg: { url, schema } });
  const rpc = new RpcClient({ url: child.plainUrl, timeoutMs: 5000 });
  const log: WriteLog = {
    acked: new Map(),
    errors: new Map(),
    hung: 0,
    callMsMax: 0,
    acksAfterMark: 0,
    markMs: Infinity,
    stop: false,
  };
  let writers: Promise<void[]> | null = null;
  try {
    assert.ok(await readyzBecomes(child.plainUrl, 200), "ready before the fault");
    writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(rpc, w, log)));
    log.markMs = Date.now();
    await until(() => log.acksAfterMark >= 20, "20 acknowledged writes before the fault");
    assert.ok(await pgCtl("stop"), "pg_ctlcluster stop");
    await until(() => (log.errors.get("unavailable") ?? 0) >= 10, "10 unavailable answers");
    assert.ok(await readyzBecomes(child.plainUrl, 503), "/readyz not ready while PG is down");
    await ensurePgRunning(url);
    assert.ok(await readyzBecomes(child.plainUrl, 200), "/readyz ready after recovery");
    log.markMs = Date.now();
    log.acksAfterMark = 0;
    await until(() => log.acksAfterMark >= 20, "20 acknowledged writes after recovery");
    log.stop = true;
    await writers;
    writers = null;
    await checkAcked(rpc, log);
    const errors = Object.fromEntries(log.errors);
    console.log(
      `pg fault: errors ${JSON.stringify(errors)}, acked ${
        ackCount(log)
      } writes, slowest call ${log.callMsMax} ms`,
    );
    // Version conflicts are expected after a lost answer; every other error is "unavailable".
    const unexpected = [...log.errors.keys()].filter((c) =>
      c !== "unavailable" && c !== "aborted" && c !== "failed_precondition"
    );
    assert.deepEqual(unexpected, [], "only unavailable (and version conflicts) while PG was down");
    assert.equal(log.hung, 0, `calls that took more than ${CALL_BOUND_MS} ms`);
  } finally {
    log.stop = true;
    await ensurePgRunning(url);
    await writers?.catch(() => {});
    await rpc.close();
    const inUse = await child.stop();
    const store = await openPostgresStore(url, { schema });
    await store.dropSchemaAndClose();
    await Deno.remove(dataDir, { recursive: true });
    assert.equal(inUse, 0, "pool blocks in use at shutdown");
  }
});

function ackCount(log: WriteLog): number {
  let n = 0;
  for (const versions of log.acked.values()) n += versions.length;
  return n;
}

/** Every acknowledged version v of every worknode left its property `v<v>`. */
async function checkAcked(rpc: RpcClient, log: WriteLog): Promise<void> {
  for (const [id, versions] of log.acked) {
    const { worknode } = await rpc.call<
      { worknode: { version: number; properties: { key: string }[] } }
    >("worknode.get", { id });
    const keys = new Set(worknode.properties.map((p) => p.key));
    for (const version of versions) {
      assert.ok(
        Number(worknode.version) >= version,
        `${id}: version ${worknode.version} < ${version}`,
      );
      assert.ok(keys.has(`v${version}`), `${id}: acknowledged version ${version} is lost`);
    }
  }
}
