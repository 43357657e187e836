/**
 * The schema migrations of both stores, in order. A migration is applied once, recorded in the
 * `schema_migrations` table with its version, inside the same transaction as its statements.
 *
 * Schema choice: one row per worknode plus one row per property (`properties`, primary key
 * `(worknode_id, key)`), not a JSON column. An update then touches only the keys it sets or
 * removes (a worknode may hold 4096 properties of 8 KiB, i.e. up to 32 MiB, which a JSON column
 * would rewrite on every update), and a sheaf overlap reads only its keys through the primary
 * key. Ids and keys compare bytewise in both databases (`COLLATE "C"` in PostgreSQL, SQLite's
 * default BINARY), so list order and cursors are the same on both stores.
 *
 * @module
 */

/**
 * PostgreSQL: every write is ONE statement (autocommit), never a client-driven BEGIN/COMMIT.
 * When the server kills a connection inside a client-driven transaction, npm:postgres 3.4.9
 * writes its ROLLBACK to the dead socket from a `setImmediate` and throws an uncatchable
 * TypeError that ends the process (porsager/postgres#1208). A single statement has no
 * follow-up write: a lost connection rejects the one query, which the store maps to
 * `unavailable`, and the server has already rolled the statement back. The multi-step writes
 * (update, glue) are therefore PL/pgSQL functions: one round trip, atomic, and an exception
 * inside rolls the whole statement back. They run at READ COMMITTED: a row lock wait re-reads the
 * latest committed row, so version checks see the newest version.
 */
const PG_UPDATE_FUNCTION = `CREATE FUNCTION wn_update(
    p_id text, p_expected bigint, p_now bigint,
    p_keys text[], p_values text[], p_remove text[], p_count_max integer)
  RETURNS TABLE (outcome text, new_version bigint)
  LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_count bigint;
BEGIN
  UPDATE worknodes w SET version = w.version + 1, updated_at_ms = p_now
    WHERE w.id = p_id AND w.version = p_expected RETURNING w.version INTO v_version;
  IF NOT FOUND THEN
    SELECT w.version INTO v_version FROM worknodes w WHERE w.id = p_id;
    RETURN QUERY SELECT CASE WHEN v_version IS NULL THEN 'not_found' ELSE 'stale' END, v_version;
    RETURN;
  END IF;
  IF cardinality(p_remove) > 0 THEN
    DELETE FROM properties p WHERE p.worknode_id = p_id AND p.key = ANY(p_remove);
  END IF;
  IF cardinality(p_keys) > 0 THEN
    INSERT INTO properties (worknode_id, key, value)
      SELECT p_id, t.k, t.v FROM unnest(p_keys, p_values) AS t (k, v)
      ON CONFLICT (worknode_id, key) DO UPDATE SET value = EXCLUDED.value;
    SELECT count(*) INTO v_count FROM properties p WHERE p.worknode_id = p_id;
    IF v_count > p_count_max THEN
      RAISE EXCEPTION 'too many properties' USING ERRCODE = 'WN001', DETAIL = v_count::text;
    END IF;
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_version;
END
$fn$`;

const PG_GLUE_FUNCTION = `CREATE FUNCTION wn_glue(
    p_a text, p_b text, p_va bigint, p_vb bigint, p_now bigint,
    p_keys text[], p_values text[], p_resolve boolean, p_count_max integer)
  RETURNS TABLE (outcome text, version_a bigint, version_b bigint, values_a jsonb, values_b jsonb)
  LANGUAGE plpgsql AS $fn$
DECLARE
  r record;
  v_a bigint;
  v_b bigint;
  m_a jsonb;
  m_b jsonb;
  v_count bigint;
BEGIN
  -- Lock both rows in id order, so two glues of one pair cannot deadlock.
  FOR r IN SELECT w.id, w.version FROM worknodes w WHERE w.id IN (p_a, p_b)
      ORDER BY w.id FOR UPDATE LOOP
    IF r.id = p_a THEN v_a := r.version; ELSE v_b := r.version; END IF;
  END LOOP;
  IF v_a IS NULL OR v_b IS NULL OR v_a <> p_va OR v_b <> p_vb THEN
    RETURN QUERY SELECT CASE WHEN v_a IS NULL THEN 'not_found_a'
      WHEN v_b IS NULL THEN 'not_found_b' ELSE 'stale' END, v_a, v_b, NULL::jsonb, NULL::jsonb;
    RETURN;
  END IF;
  IF NOT p_resolve THEN
    SELECT coalesce(jsonb_object_agg(p.key, p.value) FILTER (WHERE p.worknode_id = p_a), '{}'),
           coalesce(jsonb_object_agg(p.key, p.value) FILTER (WHERE p.worknode_id = p_b), '{}')
      INTO m_a, m_b
      FROM properties p WHERE p.worknode_id IN (p_a, p_b) AND p.key = ANY(p_keys);
    IF EXISTS (SELECT 1 FROM unnest(p_keys) AS k (key) WHERE (m_a -> k.key) IS DISTINCT FROM (m_b -> k.key)) THEN
      RETURN QUERY SELECT 'conflict'::text, v_a, v_b, m_a, m_b;
      RETURN;
    END IF;
  END IF;
  UPDATE worknodes w SET version = w.version + 1, updated_at_ms = p_now WHERE w.id IN (p_a, p_b);
  IF cardinality(p_keys) > 0 THEN
    INSERT INTO properties (worknode_id, key, value)
      SELECT n.id, t.k, t.v FROM unnest(ARRAY[p_a, p_b]) AS n (id), unnest(p_keys, p_values) AS t (k, v)
      ON CONFLICT (worknode_id, key) DO UPDATE SET value = EXCLUDED.value;
    FOR r IN SELECT p.worknode_id, count(*) AS n FROM properties p
        WHERE p.worknode_id IN (p_a, p_b) GROUP BY p.worknode_id LOOP
      IF r.n > p_count_max THEN
        RAISE EXCEPTION 'too many properties' USING ERRCODE = 'WN001',
          DETAIL = r.n::text || ' ' || r.worknode_id;
      END IF;
    END LOOP;
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_a + 1, v_b + 1, NULL::jsonb, NULL::jsonb;
END
$fn$`;

/**
 * Create: the insert first, then (a new statement, so a fresh snapshot at READ COMMITTED) the
 * tombstone. A delete of the same id that committed while the insert waited on its row lock is
 * therefore seen, and the new version continues from the deleted one (store/tombstones.ts).
 * Returns NULL when the id is taken.
 */
const PG_CREATE_FUNCTION = `CREATE FUNCTION wn_create(
    p_id text, p_kind text, p_now bigint, p_keys text[], p_values text[])
  RETURNS bigint
  LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
BEGIN
  INSERT INTO worknodes (id, kind, version, created_at_ms, updated_at_ms)
    VALUES (p_id, p_kind, 0, p_now, p_now) ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  DELETE FROM tombstones t WHERE t.id = p_id RETURNING t.version INTO v_version;
  IF v_version IS NULL THEN
    SELECT f.version INTO v_version FROM version_floor f;
  END IF;
  v_version := v_version + 1;
  UPDATE worknodes w SET version = v_version WHERE w.id = p_id;
  IF cardinality(p_keys) > 0 THEN
    INSERT INTO properties (worknode_id, key, value)
      SELECT p_id, t.k, t.v FROM unnest(p_keys, p_values) AS t (k, v);
  END IF;
  RETURN v_version;
END
$fn$`;

/**
 * Delete: the version-checked delete, its tombstone, and every p_purge_batch-th tombstone a
 * purge of those p_tombstones_max sequence numbers old, raising the version floor to their
 * highest version in the same statement (so no tombstone leaves without its version counted).
 */
const PG_DELETE_FUNCTION = `CREATE FUNCTION wn_delete(
    p_id text, p_expected bigint, p_now bigint, p_tombstones_max bigint, p_purge_batch bigint)
  RETURNS TABLE (outcome text, current_version bigint)
  LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_seq bigint;
BEGIN
  DELETE FROM worknodes w WHERE w.id = p_id AND w.version = p_expected
    RETURNING w.version INTO v_version;
  IF NOT FOUND THEN
    SELECT w.version INTO v_version FROM worknodes w WHERE w.id = p_id;
    RETURN QUERY SELECT CASE WHEN v_version IS NULL THEN 'not_found' ELSE 'stale' END, v_version;
    RETURN;
  END IF;
  INSERT INTO tombstones AS t (id, version, deleted_at_ms) VALUES (p_id, v_version, p_now)
    ON CONFLICT (id) DO UPDATE SET version = greatest(t.version, EXCLUDED.version),
      deleted_at_ms = EXCLUDED.deleted_at_ms
    RETURNING t.seq INTO v_seq;
  IF v_seq % p_purge_batch = 0 THEN
    WITH purged AS (
      DELETE FROM tombstones t WHERE t.seq <= v_seq - p_tombstones_max RETURNING t.version
    )
    UPDATE version_floor f
      SET version = greatest(f.version, (SELECT coalesce(max(p.version), 0) FROM purged p));
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_version;
END
$fn$`;

/**
 * The write probe of readiness: an insert in a subtransaction that is always rolled back, so it
 * needs a writable server (not a standby, not default_transaction_read_only) and keeps nothing.
 */
const PG_PROBE_WRITE_FUNCTION = `CREATE FUNCTION wn_probe_write()
  RETURNS text
  LANGUAGE plpgsql AS $fn$
BEGIN
  BEGIN
    INSERT INTO write_probe (at_ms) VALUES (0);
    RAISE EXCEPTION 'write probe' USING ERRCODE = 'WN002';
  EXCEPTION WHEN SQLSTATE 'WN002' THEN
    RETURN 'ok';
  END;
END
$fn$`;

/** One migration with its statements for each dialect. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

/** The table that records applied migrations (created before any migration runs). */
export const MIGRATIONS_TABLE_SQL = {
  sqlite: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`,
  postgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`,
} as const;

/** Every migration, in ascending version order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "worknodes and properties",
    sqlite: [
      `CREATE TABLE worknodes (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID`,
      `CREATE INDEX worknodes_kind_id ON worknodes (kind, id)`,
      `CREATE TABLE properties (
        worknode_id TEXT NOT NULL REFERENCES worknodes (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (worknode_id, key)
      )`,
    ],
    postgres: [
      `CREATE TABLE worknodes (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT COLLATE "C" NOT NULL,
        version BIGINT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      )`,
      `CREATE INDEX worknodes_kind_id ON worknodes (kind, id)`,
      `CREATE TABLE properties (
        worknode_id TEXT COLLATE "C" NOT NULL REFERENCES worknodes (id) ON DELETE CASCADE,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (worknode_id, key)
      )`,
    ],
  },
  {
    version: 2,
    name: "single-statement writes (PostgreSQL functions)",
    sqlite: [],
    postgres: [PG_UPDATE_FUNCTION, PG_GLUE_FUNCTION],
  },
  {
    version: 3,
    name: "tombstones, version floor, write probe",
    sqlite: [
      `CREATE TABLE tombstones (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        deleted_at_ms INTEGER NOT NULL
      )`,
      `CREATE TABLE version_floor (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        version INTEGER NOT NULL
      )`,
      `INSERT INTO version_floor (singleton, version) VALUES (1, 0)`,
      `CREATE TABLE write_probe (pad BLOB NOT NULL)`,
    ],
    postgres: [
      `CREATE TABLE tombstones (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        version BIGINT NOT NULL,
        deleted_at_ms BIGINT NOT NULL
      )`,
      `CREATE TABLE version_floor (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        version BIGINT NOT NULL
      )`,
      `INSERT INTO version_floor (singleton, version) VALUES (1, 0)`,
      `CREATE TABLE write_probe (at_ms BIGINT NOT NULL)`,
      PG_CREATE_FUNCTION,
      PG_DELETE_FUNCTION,
      PG_PROBE_WRITE_FUNCTION,
    ],
  },
];
