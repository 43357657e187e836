/**
 * Why the store keeps one row per property instead of a JSON column:
 * `deno bench -A bench/store_schema_bench.ts`.
 *
 * Both layouts live in SQLite files with WAL and `synchronous=OFF` here, so the fsync of a commit
 * (identical for both, and noisy) does not hide what the layout costs: the CPU and the bytes
 * written. The JSON layout is the baseline of each group; 50 worknodes of N properties with
 * 64-byte values, N = 16 (typical) and N = 1000 (large).
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";

const WORKNODE_COUNT = 50;
const dir = Deno.makeTempDirSync({ prefix: "worknode-schema-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

interface Layout {
  update(id: string, value: string): void;
  get(id: string): unknown;
}

function openDb(name: string): DatabaseSync {
  const db = new DatabaseSync(`${dir}/${name}.sqlite`);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;");
  return db;
}

function inTransaction(db: DatabaseSync, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  body();
  db.exec("COMMIT");
}

function tableLayout(propertyCount: number): Layout {
  const db = openDb(`table-${propertyCount}`);
  db.exec(`CREATE TABLE w (id TEXT PRIMARY KEY, version INTEGER) WITHOUT ROWID;
    CREATE TABLE p (wid TEXT, key TEXT, value TEXT, PRIMARY KEY (wid, key))`);
  inTransaction(db, () => {
    const insert: StatementSync = db.prepare("INSERT INTO p VALUES (?, ?, ?)");
    for (let w = 0; w < WORKNODE_COUNT; w++) {
      db.prepare("INSERT INTO w VALUES (?, 1)").run(`w${w}`);
      for (let i = 0; i < propertyCount; i++) insert.run(`w${w}`, `key-${i}`, "v".repeat(64));
    }
  });
  const bump = db.prepare("UPDATE w SET version = version + 1 WHERE id = ?");
  const upsert = db.prepare(
    "INSERT INTO p VALUES (?, ?, ?) ON CONFLICT (wid, key) DO UPDATE SET value = excluded.value",
  );
  const read = db.prepare("SELECT key, value FROM p WHERE wid = ? ORDER BY key");
  return {
    update: (id, value) =>
      inTransaction(db, () => {
        bump.run(id);
        upsert.run(id, "key-1", value);
      }),
    get: (id) => read.all(id),
  };
}

function jsonLayout(propertyCount: number): Layout {
  const db = openDb(`json-${propertyCount}`);
  db.exec("CREATE TABLE w (id TEXT PRIMARY KEY, version INTEGER, props TEXT) WITHOUT ROWID");
  const props: Record<string, string> = {};
  for (let i = 0; i < propertyCount; i++) props[`key-${i}`] = "v".repeat(64);
  inTransaction(db, () => {
    for (let w = 0; w < WORKNODE_COUNT; w++) {
      db.prepare("INSERT INTO w VALUES (?, 1, ?)").run(`w${w}`, JSON.stringify(props));
    }
  });
  const read = db.prepare("SELECT props FROM w WHERE id = ?");
  const write = db.prepare("UPDATE w SET version = version + 1, props = ? WHERE id = ?");
  const load = (id: string) =>
    JSON.parse((read.get(id) as { props: string }).props) as Record<string, string>;
  return {
    update: (id, value) =>
      inTransaction(db, () => {
        const current = load(id);
        current["key-1"] = value;
        write.run(JSON.stringify(current), id);
      }),
    get: (id) => Object.entries(load(id)).sort(),
  };
}

for (const propertyCount of [16, 1000]) {
  const layouts = {
    "JSON column": jsonLayout(propertyCount),
    "row per property": tableLayout(propertyCount),
  };
  for (const [name, layout] of Object.entries(layouts)) {
    let n = 0;
    const baseline = name === "JSON column";
    Deno.bench({
      name: `${name}: update 1 key of ${propertyCount}`,
      group: `update, ${propertyCount} properties`,
      baseline,
      fn: () => layout.update(`w${n++ % WORKNODE_COUNT}`, String(n)),
    });
    Deno.bench({
      name: `${name}: get ${propertyCount}`,
      group: `get, ${propertyCount} properties`,
      baseline,
      fn: () => void layout.get(`w${n++ % WORKNODE_COUNT}`),
    });
  }
}
