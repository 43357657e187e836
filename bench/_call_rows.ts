/**
 * The calls of the as-shipped load bench (bench/shipped_bench.ts), the same on every transport:
 * what each row posts, where, and what it must answer. The bodies are written to files once per
 * run, so wrk (bench/call_load.lua), h2load (`-d FILE`) and the Deno load client post the very
 * same bytes.
 *
 * @module
 */

import { ECHO_BINARY_BODY, ECHO_JSON_BODY } from "./_echo_bodies.ts";

/** The rows' names, in the order the report lists them. */
export const ROW_NAMES = ["binaryEcho", "jsonEcho", "get", "update", "unknown"] as const;

/** One row's name. */
export type RowName = typeof ROW_NAMES[number];

/** What one row posts. */
export interface CallRow {
  readonly name: RowName;
  /** How the report names the call. */
  readonly label: string;
  /** The request target, e.g. `/rpc/system.echo`. */
  readonly path: string;
  readonly contentType: string;
  /** The fixed body; null for `worknode.update`, whose body changes per call (see below). */
  readonly body: Uint8Array<ArrayBuffer> | null;
  /** The status every answer must have. */
  readonly status: number;
}

/** The worknode `worknode.get` reads (seeded by bench/store_http_seed.ts as `b-00000`..). */
const GET_ID = "b-00000";

/** The rows, keyed by name. */
export const CALL_ROWS: Readonly<Record<RowName, CallRow>> = {
  binaryEcho: {
    name: "binaryEcho",
    label: "`system.echo` binary",
    path: "/rpc/system.echo",
    contentType: "application/capnp",
    body: ECHO_BINARY_BODY,
    status: 200,
  },
  jsonEcho: {
    name: "jsonEcho",
    label: "`system.echo` JSON",
    path: "/rpc/system.echo",
    contentType: "application/json",
    body: new TextEncoder().encode(ECHO_JSON_BODY),
    status: 200,
  },
  get: {
    name: "get",
    label: "`worknode.get` JSON (SQLite read)",
    path: "/rpc/worknode.get",
    contentType: "application/json",
    body: new TextEncoder().encode(JSON.stringify({ id: GET_ID })),
    status: 200,
  },
  update: {
    name: "update",
    label: "`worknode.update` JSON (SQLite write)",
    path: "/rpc/worknode.update",
    contentType: "application/json",
    body: null,
    status: 200,
  },
  unknown: {
    name: "unknown",
    label: "unknown method -> 501",
    path: "/rpc/no.such.method",
    contentType: "application/capnp",
    body: ECHO_BINARY_BODY,
    status: 501,
  },
};

/** Worknodes one update load cycles through (bench/call_load.lua uses the same default). */
export const UPDATE_IDS_PER_LOAD = 1000;

/**
 * The seeded worknode id of index `i` (`b-00042`), as bench/store_http_seed.ts names them.
 *
 * @example
 * ```ts
 * worknodeId(42); // "b-00042"
 * ```
 */
export function worknodeId(i: number): string {
  return `b-${String(i).padStart(5, "0")}`;
}

/**
 * Cycles a load's updates through `count` worknodes from `offset`, each carrying the version it
 * expects: every worknode starts at version 1 (freshly seeded, used by no other load), and its
 * next update is built `count` calls later, long after the previous one was answered (`count` is
 * far above the calls in flight), so the expectation holds. A call that fails (409) leaves that
 * worknode's later updates failing too: the load reports them as non-200. The same scheme as
 * bench/call_load.lua.
 */
export class UpdateBodies {
  readonly #offset: number;
  readonly #count: number;
  readonly #versions: number[];
  #counter = 0;

  constructor(offset: number, count: number) {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`Cannot cycle updates: offset ${offset}, count ${count}`);
    }
    this.#offset = offset;
    this.#count = count;
    this.#versions = new Array(count).fill(1);
  }

  /** The next update's JSON body. */
  next(): string {
    const slot = this.#counter % this.#count;
    this.#counter++;
    const version = this.#versions[slot]++;
    return JSON.stringify({
      id: worknodeId(this.#offset + slot),
      expectedVersion: version,
      set: [{ key: "n", value: String(this.#counter) }],
      remove: [],
    });
  }
}

/**
 * Writes every fixed body to `dir/<row>.body` (the files the loads post); returns the paths.
 *
 * @example
 * ```ts
 * const paths = writeBodyFiles(await Deno.makeTempDir());
 * ```
 */
export function writeBodyFiles(dir: string): Map<RowName, string> {
  const paths = new Map<RowName, string>();
  for (const name of ROW_NAMES) {
    const body = CALL_ROWS[name].body;
    if (body === null) continue;
    const path = `${dir}/${name}.body`;
    Deno.writeFileSync(path, body);
    paths.set(name, path);
  }
  return paths;
}

// `deno run -A bench/_call_rows.ts DIR` writes the bodies, to rerun a load by hand.
if (import.meta.main) {
  for (const [name, path] of writeBodyFiles(Deno.args[0] ?? ".")) console.log(`${name}: ${path}`);
}
