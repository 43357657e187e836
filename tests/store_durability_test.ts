/**
 * Durability on both stores: a child process holding the store receives a stream of creates and
 * updates and is SIGKILLed mid-stream; a restarted child then finds every write the first one
 * acknowledged (and at most the one write that was in flight beyond them).
 */

import assert from "@std/assert";
import type { Worknode } from "../store/mod.ts";
import { openFreshStore, STORE_KINDS } from "./store_harness.ts";
import { type ChildReply, StoreChild } from "./store_child.ts";

const WORKNODE_COUNT = 20;
const ROUND_COUNT = 100;
/** Kill after this many acknowledgements: well inside the 2,020-command stream. */
const ACKS_BEFORE_KILL = 300;

interface Command {
  seq: number;
  op: "create" | "update" | "get";
  input: Record<string, unknown>;
}

const idOf = (i: number) => `d-${String(i).padStart(2, "0")}`;

function streamOfWrites(): Command[] {
  const commands: Command[] = [];
  for (let i = 0; i < WORKNODE_COUNT; i++) {
    commands.push({
      seq: commands.length,
      op: "create",
      input: { id: idOf(i), kind: "durable", properties: [{ key: "n", value: "0" }] },
    });
  }
  for (let round = 1; round <= ROUND_COUNT; round++) {
    for (let i = 0; i < WORKNODE_COUNT; i++) {
      commands.push({
        seq: commands.length,
        op: "update",
        input: {
          id: idOf(i),
          expectedVersion: round,
          set: [{ key: "n", value: String(round) }, { key: `r${round}`, value: "x" }],
          remove: [],
        },
      });
    }
  }
  return commands;
}

/** Reads every worknode back through a freshly started child (the "restarted server"). */
async function readBackAfterRestart(child: StoreChild): Promise<Map<string, Worknode>> {
  await child.ready();
  const gets = Array.from({ length: WORKNODE_COUNT }, (_, i) => ({
    seq: i,
    op: "get",
    input: { id: idOf(i) },
  }));
  await child.send(gets);
  const status = await child.finish();
  assert.equal(status.code, 0);
  const found = new Map<string, Worknode>();
  for (const reply of child.replies) {
    if (reply.ok) found.set(idOf(reply.seq), reply.result as Worknode);
  }
  return found;
}

function checkAcknowledged(commands: Command[], acks: ChildReply[], found: Map<string, Worknode>) {
  let checked = 0;
  for (const ack of acks) {
    assert.ok(ack.ok, `write ${ack.seq} failed: ${ack.code}`);
    const command = commands[ack.seq];
    const worknode = found.get(command.input.id as string);
    if (worknode === undefined) {
      throw new Error(`acknowledged ${command.op} of ${command.input.id} is lost`);
    }
    if (command.op === "update") {
      const version = (ack.result as { version: number }).version;
      assert.ok(
        worknode.version >= version,
        `${worknode.id}: version ${worknode.version} < acked ${version}`,
      );
      const round = command.input.expectedVersion as number;
      assert.ok(
        worknode.properties.some((p) => p.key === `r${round}`),
        `${worknode.id} lost r${round}`,
      );
    }
    checked++;
  }
  // Beyond the acknowledged writes at most the one in flight may have landed (one at a time).
  const ackedUpdates = acks.filter((a) => commands[a.seq].op === "update").length;
  let storedUpdates = 0;
  for (const worknode of found.values()) storedUpdates += worknode.version - 1;
  assert.ok(storedUpdates - ackedUpdates <= 1, `${storedUpdates} stored vs ${ackedUpdates} acked`);
  return checked;
}

for (const kind of STORE_KINDS) {
  Deno.test(`store ${kind}: every acknowledged write survives SIGKILL of the process`, async () => {
    const fresh = await openFreshStore(kind);
    try {
      const commands = streamOfWrites();
      const writer = new StoreChild(fresh.spec);
      await writer.ready();
      const sending = writer.send(commands);
      for (let i = 0; i < ACKS_BEFORE_KILL; i++) {
        assert.ok(await writer.next() !== null, "child ended before the kill");
      }
      const status = await writer.kill();
      await sending;
      assert.equal(status.signal, "SIGKILL");
      const acks = writer.replies;
      assert.ok(acks.length < commands.length, "the stream finished before the kill");
      const found = await readBackAfterRestart(new StoreChild(fresh.spec));
      const checked = checkAcknowledged(commands, acks, found);
      assert.ok(checked >= ACKS_BEFORE_KILL);
    } finally {
      await fresh.cleanup();
    }
  });
}
