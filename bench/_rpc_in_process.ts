/**
 * The call core built in process over a real pool (no sockets, no store), for benchmarks of the
 * core alone: `callInProcess` opens a call as a transport does, pushes the body and returns the
 * answer's body length (the answer is released).
 *
 * @module
 */

import { Clock } from "../clock/mod.ts";
import { Pool } from "../pool/mod.ts";
import type { AnswerSink, CallAnswer } from "../rpc/answer.ts";
import { createBinaryWire } from "../rpc/binary_wire.ts";
import { CallHead } from "../rpc/call_head.ts";
import type { CallCore } from "../rpc/core.ts";
import { createCore, type CreateCoreOptions } from "../rpc/core_deps.ts";
import { METHODS } from "../rpc/methods.ts";
import { createRegistry } from "../rpc/registry.ts";
import { HTTP_METHOD } from "../rpc/route.ts";
import { fixedPlan } from "../tests/_plan.ts";

const classes = [
  { blockSizeBytes: 4096, blockCount: 256 },
  { blockSizeBytes: 65536, blockCount: 16 },
];
/** The pool every core here serves from (a bench that is done with it closes it). */
export const pool: Pool = Pool.open(classes);
const registry = createRegistry(METHODS);
const plan = fixedPlan(classes);
const services = { store: null, pool, plan, config: { rpcTimeoutMsMax: 30_000 }, registry };
/** The clock of every core here (unref'd: it never keeps a bench alive). */
export const clock: Clock = new Clock();

/**
 * A core over the pool above with the Cap'n Proto wire, plus `options` (auth, request log...).
 *
 * @example
 * ```ts
 * const logged = coreWith({ requestLog: new RequestLog({ sink: file }) });
 * ```
 */
export function coreWith(options: Partial<CreateCoreOptions> = {}): CallCore {
  return createCore(services, {
    registry,
    clock,
    binary: createBinaryWire(registry, pool),
    ...options,
  });
}

/** The core over the pool above. */
export const core: CallCore = coreWith();

/** A sink that keeps the one answer of a call. */
class Kept implements AnswerSink {
  answer: (answer: CallAnswer) => void;
  #answer: CallAnswer | null = null;
  constructor() {
    this.answer = (answer) => this.#answer = answer;
  }
  take(): CallAnswer | null {
    const answer = this.#answer;
    this.#answer = null;
    return answer;
  }
}

const encoder = new TextEncoder();

/**
 * One call through `target` as a transport makes it (a CallHead, the body pushed, the answer
 * taken): resolves the answer's status and body length. Synchronous calls answer at once.
 *
 * @example
 * ```ts
 * const { status } = await callInProcess(core, "system.echo", "application/capnp", frame);
 * ```
 */
export async function callInProcess(
  target: CallCore,
  method: string,
  contentType: string,
  body: Uint8Array,
  authorization: string | null = null,
): Promise<{ status: number; bodyBytes: number }> {
  const head = new CallHead("h1");
  head.methodCode = HTTP_METHOD.post;
  head.targetBytes = encoder.encode(`/rpc/${method}`);
  head.nameStart = 5;
  head.nameEnd = head.targetBytes.length;
  head.contentType = contentType;
  head.contentTypeCount = 1;
  head.contentLengthBytes = body.length;
  head.authorization = authorization;
  head.authorizationCount = authorization === null ? 0 : 1;
  const sink = new Kept();
  let answer: CallAnswer | null = null;
  const done = new Promise<CallAnswer>((resolve) => {
    sink.answer = (a) => answer === null ? resolve(a) : undefined;
  });
  const call = target.open(head, sink);
  if (call !== null) {
    call.push(body);
    call.end();
  }
  answer = await done;
  try {
    return { status: answer.status, bodyBytes: answer.body.length };
  } finally {
    answer.release();
  }
}
