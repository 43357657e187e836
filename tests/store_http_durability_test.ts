/**
 * Durability over HTTP on both stores: the real service (`main.ts`, as `deno task start` runs it)
 * receives creates and updates from four concurrent clients and is SIGKILLed mid-stream; after a
 * restart every write it acknowledged (an HTTP 200) is present.
 */

import assert from "@std/assert";
import { RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { type FreshStore, openFreshStore, STORE_KINDS } from "./store_harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const WRITERS = 4;
const WORKNODES_PER_WRITER = 5;
const UPDATES_PER_WORKNODE = 200;
/** Kill after this many acknowledged writes, far fewer than the 4,020 of the stream. */
const ACKS_BEFORE_KILL = 400;
/** Lines a start-up may print before its ready line. */
const LINES_BEFORE_READY_MAX = 100;

interface Service {
  readonly process: Deno.ChildProcess;
  readonly url: string;
  readonly token: string;
  /** Resolves when the child's output has ended (it exited). */
  readonly exited: Promise<void>;
}

/** The `--store` value reaching the fresh store: SQLite in the data dir, or the PG schema. */
function storeFlag(fresh: FreshStore): string {
  if (fresh.spec.kind === "sqlite") return "sqlite";
  const url = new URL(fresh.spec.url);
  url.searchParams.set("schema", fresh.spec.schema);
  return url.href;
}

async function startService(fresh: FreshStore, dataDir: string): Promise<Service> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      `--config=${CONFIG}`,
      MAIN,
      ...["--port", "0", "--plaintext-port", "0", "--data-dir", dataDir],
      ...["--store", storeFlag(fresh), "--pool-bytes", "32MiB", "--log-level", "warn"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both pipes are drained until the child exits: its lines must never meet a full pipe.
  const stderr = new Response(process.stderr).text();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let ready: { http: string; adminTokenPath: string } | null = null;
  for (let i = 0; ready === null && i < LINES_BEFORE_READY_MAX; i++) {
    const { value, done } = await lines.read();
    if (done) {
      await process.status;
      throw new Error(`service exited before its ready line: ${text} ${await stderr}`);
    }
    text += value;
    for (const line of text.split("\n").slice(0, -1)) {
      const parsed = JSON.parse(line);
      if (parsed.msg === "ready") ready = parsed;
    }
  }
  if (ready === null) throw new Error(`no ready line in: ${text}`);
  const stdout = (async () => {
    while (!(await lines.read()).done) { /* drain */ }
  })();
  const token = (await Deno.readTextFile(ready.adminTokenPath)).trim();
  return { process, url: ready.http, token, exited: Promise.all([stdout, stderr]).then(() => {}) };
}

/** One writer: creates its worknodes, then updates them round-robin, recording each ack. */
async function writer(rpc: RpcClient, w: number, acked: Map<string, number>, stop: () => boolean) {
  const ids = Array.from({ length: WORKNODES_PER_WRITER }, (_, i) => `h-${w}-${i}`);
  try {
    for (const id of ids) {
      await rpc.call("worknode.create", { kind: "durable", properties: [], id });
      acked.set(id, 1);
      if (stop()) return;
    }
    for (let round = 1; round <= UPDATES_PER_WORKNODE; round++) {
      for (const id of ids) {
        const set = [{ key: `r${round}`, value: "x" }];
        const result = await rpc.call<{ version: number }>("worknode.update", {
          id,
          expectedVersion: round,
          set,
          remove: [],
        });
        acked.set(id, result.version);
        if (stop()) return;
      }
    }
  } catch (error) {
    // A call the service answered with an error is a failure; a call cut by the kill (a fetch
    // error) was never acknowledged.
    if (error instanceof RpcError) throw error;
  }
}

for (const kind of STORE_KINDS) {
  Deno.test(`store ${kind}: acknowledged HTTP writes survive SIGKILL of the service`, async () => {
    const fresh = await openFreshStore(kind);
    // SQLite lives in the data directory, so the service shares the fresh store's.
    const dataDir = kind === "sqlite"
      ? fresh.spec.dataDir
      : await Deno.makeTempDir({ prefix: "worknode-http-durability-" });
    const clients: RpcClient[] = [];
    try {
      const first = await startService(fresh, dataDir);
      const acked = new Map<string, number>();
      let ackCount = 0;
      let killed = false;
      const stop = () => {
        ackCount++;
        if (ackCount >= ACKS_BEFORE_KILL && !killed) {
          killed = true;
          first.process.kill("SIGKILL");
        }
        return killed;
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => {
        const rpc = new RpcClient({ url: first.url, wire: "json", token: first.token });
        clients.push(rpc);
        return writer(rpc, w, acked, stop);
      });
      await Promise.all(writers);
      const status = await first.process.status;
      await first.exited;
      assert.equal(status.signal, "SIGKILL");
      assert.ok(ackCount < WRITERS * WORKNODES_PER_WRITER * (UPDATES_PER_WORKNODE + 1));

      const second = await startService(fresh, dataDir);
      try {
        const rpc = new RpcClient({ url: second.url, wire: "json", token: second.token });
        clients.push(rpc);
        for (const [id, version] of acked) {
          const { worknode } = await rpc.call<
            { worknode: { version: number; properties: { key: string }[] } }
          >("worknode.get", { id });
          // One write per worknode may have committed without its acknowledgement arriving.
          assert.ok(
            worknode.version === version || worknode.version === version + 1,
            `${id}: stored version ${worknode.version}, acknowledged ${version}`,
          );
          const keys = new Set(worknode.properties.map((p) => p.key));
          for (let round = 1; round < version; round++) assert.ok(keys.has(`r${round}`));
        }
        assert.ok(acked.size > 0);
      } finally {
        second.process.kill("SIGTERM");
        await second.process.status;
        await second.exited;
      }
    } finally {
      clients.forEach((client) => client.close());
      await fresh.cleanup();
      if (kind !== "sqlite") await Deno.remove(dataDir, { recursive: true });
    }
  });
}
