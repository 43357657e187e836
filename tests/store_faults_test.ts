/**
 * Store failures through a running service (real pool, plaintext HTTP/1.1, real SQLite files):
 * a database at its page cap (SQLITE_FULL, the code a full disk gives) answers 503 unavailable
 * with Retry-After, `/readyz` answers 503, the log names the file, and both recover once deletes
 * free room; a corrupt page answers 500 data_loss and keeps `/readyz` at 503 (corruption does
 * not heal). The real full disk (a tmpfs) and a real read-only file are in
 * tests/store_faults_process_test.ts.
 */

import assert from "@std/assert";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Pool, type PoolClassConfig } from "../pool/mod.ts";
import { type RunningService, startService } from "../server/service.ts";
import { openSqliteStore, SQLITE_FILE_NAME, type SqliteStore } from "../store/mod.ts";
import { fixedPlan } from "./_plan.ts";

const CLASSES: readonly PoolClassConfig[] = [
  { blockSizeBytes: 4096, blockCount: 32 },
  { blockSizeBytes: 65536, blockCount: 8 },
];
/** Room above the migrated schema: 64 pages of 4 KiB. */
const ROOM_PAGES = 64;

/** An answer's JSON: a result, or `{"error": {...}}`. */
interface AnswerBody {
  readonly error?: { code: string; message: string; details?: Record<string, unknown> };
  readonly [field: string]: unknown;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: AnswerBody;
}

interface FaultService {
  readonly svc: RunningService;
  readonly store: SqliteStore;
  readonly logLines: string[];
  post(method: string, params: unknown): Promise<Answer>;
  readyz(): Promise<{ status: number; text: string }>;
  close(): Promise<void>;
}

async function startFaultService(
  dataDir: string,
  options: { pageCountMax?: number } = {},
): Promise<FaultService> {
  const logLines: string[] = [];
  const store = await openSqliteStore(dataDir, { ...options, log: (line) => logLines.push(line) });
  const pool = Pool.open(CLASSES);
  const config = {
    port: 0,
    hostname: "127.0.0.1",
    dataDir,
    plaintextPort: 0,
    rpcTimeoutMsMax: 10_000,
  };
  const svc = await startService(config, fixedPlan(CLASSES), { pool, store, quiet: true });
  const base = `http://127.0.0.1:${svc.plaintextPort}`;
  return {
    svc,
    store,
    logLines,
    async post(method, params) {
      const response = await fetch(`${base}/rpc/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(params),
      });
      return { status: response.status, headers: response.headers, body: await response.json() };
    },
    async readyz() {
      const response = await fetch(`${base}/readyz`);
      return { status: response.status, text: await response.text() };
    },
    async close() {
      await svc.shutdown();
      assert.equal(pool.inUseCount(), 0, "pool in-use count after the test");
      pool.close();
      await store.close();
    },
  };
}

/** The pages the migrated, empty database takes. */
function pageCount(dataDir: string): number {
  const db = new DatabaseSync(join(dataDir, SQLITE_FILE_NAME));
  try {
    return (db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
  } finally {
    db.close();
  }
}

/** Polls until `/readyz` answers `status` (bounded: 50 tries, 200 ms apart). */
async function readyzBecomes(service: FaultService, status: number): Promise<string> {
  let last = { status: 0, text: "" };
  for (let attempt = 0; attempt < 50; attempt++) {
    last = await service.readyz();
    if (last.status === status) return last.text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`/readyz stayed ${last.status} ${last.text}`);
}

const bigProperties = (n: number) =>
  Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: `${n}`.padEnd(8000, "x") }));

/** Creates ~32 KiB worknodes until one is refused (bounded by twice the room in pages). */
async function fillUntilFull(service: FaultService): Promise<{ created: number; full: Answer }> {
  for (let n = 0; n < 2 * ROOM_PAGES; n++) {
    const answer = await service.post("worknode.create", {
      id: `w${n}`,
      kind: "k",
      properties: bigProperties(n),
    });
    if (answer.status !== 200) {
      assert.ok(n > 0, "the first create already failed");
      return { created: n, full: answer };
    }
  }
  throw new Error(`${2 * ROOM_PAGES} creates and never full`);
}

Deno.test("store full: 503 unavailable + /readyz 503 with the file in the log, then recovery", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "store-full-" });
  try {
    await (await openSqliteStore(dataDir, { log: () => {} })).close();
    const pageCountMax = pageCount(dataDir) + ROOM_PAGES;
    const service = await startFaultService(dataDir, { pageCountMax });
    try {
      assert.equal((await service.readyz()).status, 200);
      const { created, full } = await fillUntilFull(service);
      assert.equal(full.status, 503, JSON.stringify(full.body));
      assert.equal(full.body.error?.code, "unavailable");
      assert.match(full.body.error?.message ?? "", /disk is full \(SQLITE_FULL\)/);
      assert.equal(full.headers.get("retry-after"), "1");
      assert.ok(!full.body.error?.message.includes(dataDir), "the client is not told the path");
      const notReady = await service.readyz();
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /cannot take writes: the disk is full/);
      const logged = service.logLines.filter((line) => line.includes("disk is full"));
      assert.equal(logged.length, 1, service.logLines.join("\n"));
      assert.ok(logged[0].startsWith(`store: database ${join(dataDir, SQLITE_FILE_NAME)}: `));
      // Reads still answer.
      assert.equal((await service.post("worknode.get", { id: "w0" })).status, 200);

      // Room returns: deletes free the properties' pages (a delete is a small write).
      for (let n = 0; n < created; n++) {
        const answer = await service.post("worknode.delete", { id: `w${n}`, expectedVersion: 1 });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
      }
      assert.equal(await readyzBecomes(service, 200), "ready");
      const again = await service.post("worknode.create", {
        id: "after",
        kind: "k",
        properties: bigProperties(0),
      });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.ok(service.logLines.some((line) => line.includes("writes succeed again")));
    } finally {
      await service.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Overwrites the root page of `table` with 0xFF bytes (no valid b-tree page starts so). */
function corruptTable(dataDir: string, table: string): void {
  const path = join(dataDir, SQLITE_FILE_NAME);
  const db = new DatabaseSync(path);
  let rootPage: number;
  let pageSize: number;
  try {
    rootPage = (db.prepare("SELECT rootpage FROM sqlite_schema WHERE name = ?").get(table) as {
      rootpage: number;
    }).rootpage;
    pageSize = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
  } finally {
    db.close();
  }
  const file = Deno.openSync(path, { write: true });
  try {
    file.seekSync((rootPage - 1) * pageSize, Deno.SeekMode.Start);
    file.writeSync(new Uint8Array(pageSize).fill(0xff));
  } finally {
    file.close();
  }
}

Deno.test("store corrupt page: 500 data_loss, /readyz 503 until restart, the file in the log", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "store-corrupt-" });
  try {
    const before = await openSqliteStore(dataDir, { log: () => {} });
    await before.create({ id: "w1", kind: "k", properties: bigProperties(1) });
    await before.close();
    corruptTable(dataDir, "properties");
    const service = await startFaultService(dataDir);
    try {
      const answer = await service.post("worknode.get", { id: "w1" });
      assert.equal(answer.status, 500, JSON.stringify(answer.body));
      assert.equal(answer.body.error?.code, "data_loss");
      assert.match(answer.body.error?.message ?? "", /database is corrupt/);
      const notReady = await service.readyz();
      assert.equal(notReady.status, 503);
      assert.match(notReady.text, /database is corrupt/);
      assert.ok(
        service.logLines.some((line) =>
          line.startsWith(`store: database ${join(dataDir, SQLITE_FILE_NAME)}: `) &&
          line.includes("corrupt") && line.endsWith("not ready until restart")
        ),
        service.logLines.join("\n"),
      );
      // A write elsewhere succeeds, yet corruption stays: it does not heal by itself.
      assert.equal(
        (await service.post("worknode.create", { kind: "k", properties: [] })).status,
        200,
      );
      assert.equal((await service.readyz()).status, 503);
    } finally {
      await service.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
