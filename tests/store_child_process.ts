/**
 * A store in a child process, for the durability and concurrency tests: it opens the store named
 * by its arguments, prints `{"ready":true}`, then reads one JSON command per stdin line
 * (`{"seq":1,"op":"create"|"update"|"get","input":{...}}`) and prints one JSON line per command
 * AFTER the store call has returned, i.e. after the write is acknowledged by the store:
 * `{"seq":1,"ok":true,"result":...}` or `{"seq":1,"ok":false,"code":"aborted"}`.
 *
 * Usage: `deno run -A tests/store_child_process.ts sqlite DATA_DIR [--concurrent]`
 * or `deno run -A tests/store_child_process.ts postgres URL SCHEMA [--concurrent]`.
 * With `--concurrent` commands run as soon as they arrive instead of one after another.
 *
 * @module
 */

import { openSqliteStore, type Store } from "../store/mod.ts";
import { openPostgresStore } from "../store/postgres.ts";
import { RpcError } from "../errors/rpc_error.ts";

const LINE_BYTES_MAX = 1 << 20;

async function openFromArgs(args: string[]): Promise<Store> {
  if (args[0] === "sqlite" && args[1]) return await openSqliteStore(args[1]);
  if (args[0] === "postgres" && args[1] && args[2]) {
    return await openPostgresStore(args[1], { schema: args[2], connectionsMax: 10 });
  }
  throw new TypeError(`Cannot start: bad arguments ${JSON.stringify(args)}`);
}

async function run(store: Store, line: string): Promise<string> {
  const command = JSON.parse(line);
  try {
    let result: unknown;
    if (command.op === "create") result = await store.create(command.input);
    else if (command.op === "update") result = await store.update(command.input);
    else if (command.op === "get") result = await store.get(command.input.id);
    else throw new TypeError(`unknown op ${command.op}`);
    return JSON.stringify({ seq: command.seq, ok: true, result });
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    return JSON.stringify({ seq: command.seq, ok: false, code: error.code });
  }
}

async function main(): Promise<void> {
  const store = await openFromArgs(Deno.args);
  const concurrent = Deno.args.includes("--concurrent");
  const encoder = new TextEncoder();
  const out = Deno.stdout;
  const write = async (text: string) => {
    const bytes = encoder.encode(text + "\n");
    let written = 0;
    while (written < bytes.length) written += await out.write(bytes.subarray(written));
  };
  await write(JSON.stringify({ ready: true }));
  const pending: Promise<void>[] = [];
  let buffered = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    if (buffered.length > LINE_BYTES_MAX) throw new RangeError("Cannot read command: too long");
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line === "") continue;
      const done = run(store, line).then(write);
      if (concurrent) pending.push(done);
      else await done;
    }
  }
  await Promise.all(pending);
  await store.close();
}

if (import.meta.main) await main();
