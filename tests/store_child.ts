/**
 * The parent side of `store_child_process.ts`: spawns it, sends commands, reads its replies.
 *
 * @module
 */

import type { FreshStore } from "./store_harness.ts";

/** One reply line of the child. */
export interface ChildReply {
  readonly seq: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly code?: string;
}

const CHILD_SCRIPT = new URL("./store_child_process.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A running child holding its own store handle. */
export class StoreChild {
  readonly process: Deno.ChildProcess;
  readonly replies: ChildReply[] = [];
  #lines: AsyncIterator<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();

  constructor(spec: FreshStore["spec"], options: { concurrent?: boolean } = {}) {
    const args = spec.kind === "sqlite"
      ? ["sqlite", spec.dataDir]
      : ["postgres", spec.url, spec.schema];
    if (options.concurrent) args.push("--concurrent");
    this.process = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", `--config=${CONFIG}`, CHILD_SCRIPT, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.process.stdin.getWriter();
    this.#lines = lines(this.process.stdout)[Symbol.asyncIterator]();
  }

  /** Waits for the child's ready line. */
  async ready(): Promise<void> {
    const first = await this.#lines.next();
    if (first.done || !JSON.parse(first.value).ready) {
      throw new Error(`Child did not start: ${first.value}`);
    }
  }

  /** Sends commands without waiting for replies; a write to a killed child is ignored. */
  async send(commands: readonly { seq: number; op: string; input: unknown }[]): Promise<void> {
    const text = commands.map((c) => JSON.stringify(c) + "\n").join("");
    try {
      await this.#writer.write(this.#encoder.encode(text));
    } catch {
      // The child was killed: the test only counts what it acknowledged.
    }
  }

  /** Reads the next reply, or null at end of output. */
  async next(): Promise<ChildReply | null> {
    const line = await this.#lines.next();
    if (line.done) return null;
    const reply = JSON.parse(line.value) as ChildReply;
    this.replies.push(reply);
    return reply;
  }

  /** Closes stdin (the child then exits after its last reply) and reads every reply left. */
  async finish(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    while (await this.next() !== null) { /* collect */ }
    return await this.process.status;
  }

  /** SIGKILLs the child, then reads every reply it had written before dying. */
  async kill(): Promise<Deno.CommandStatus> {
    this.process.kill("SIGKILL");
    await this.#writer.abort().catch(() => {});
    while (await this.next() !== null) { /* collect */ }
    return await this.process.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
}
