/**
 * Durability over HTTP on both stores: the real service in a child process receives creates and
 * updates from four concurrent clients and is SIGKILLed mid-stream; after a restart every write
 * it acknowledged (an HTTP 200) is present.
 */

import assert from "@std/assert";
import { RpcClient } from "../client/mod.ts";
import { type FreshStore, openFreshStore, STORE_KINDS } from "./store_harness.ts";

const CHILD_SCRIPT = new URL("./store_service_child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const WRITERS = 4;
const WORKNODES_PER_WRITER = 5;
const UPDATES_PER_WORKNODE = 200;
/** Kill after this many acknowledged writes, far fewer than the 4,020 of the stream. */
const ACKS_BEFORE_KILL = 400;

interface Service {
  readonly process: Deno.ChildProcess;
  readonly url: string;
  /** Resolves when the child's stderr has ended (it exited). */
  readonly exited: Promise<void>;
}

async function startChild(fresh: FreshStore, dataDir: string): Promise<Service> {
  const spec = fresh.spec;
  const args = spec.kind === "sqlite"
    ? ["sqlite", spec.dataDir]
    : ["postgres", spec.url, spec.schema, dataDir];
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", `--config=${CONFIG}`, CHILD_SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drained until the child exits: its warnings must never meet a closed pipe.
  const stderr = new Response(process.stderr).text();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      await process.status;
      throw new Error(`service child exited before listening: ${text} ${await stderr}`);
    }
    text += value;
  }
  // The child prints nothing else on stdout.
  await reader.cancel();
  const port = JSON.parse(text.slice(0, text.indexOf("\n"))).port as number;
  return { process, url: `http://127.0.0.1:${port}`, exited: stderr.then(() => {}) };
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
  } catch {
    // The service was killed under this call: it was never acknowledged.
  }
}

for (const kind of STORE_KINDS) {
  Deno.test(`store ${kind}: acknowledged HTTP writes survive SIGKILL of the service`, async () => {
    const fresh = await openFreshStore(kind);
    const dataDir = await Deno.makeTempDir({ prefix: "worknode-http-durability-" });
    const clients: RpcClient[] = [];
    try {
      const first = await startChild(fresh, dataDir);
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
        const rpc = new RpcClient({ url: first.url, wire: "json" });
        clients.push(rpc);
        return writer(rpc, w, acked, stop);
      });
      await Promise.all(writers);
      const status = await first.process.status;
      await first.exited;
      assert.equal(status.signal, "SIGKILL");
      assert.ok(ackCount < WRITERS * WORKNODES_PER_WRITER * (UPDATES_PER_WORKNODE + 1));

      const second = await startChild(fresh, dataDir);
      try {
        const rpc = new RpcClient({ url: second.url, wire: "json" });
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
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}
