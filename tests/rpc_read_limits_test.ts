/**
 * Per-method read limits: an overlap with more properties than the plan's
 * maxPropertiesPerOverlap is refused while its params are decoded (binary, JSON and batch),
 * before the handler runs; one at the limit reaches the handler.
 */

import assert from "@std/assert";
import { RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { type AnyMethodSpec, defineMethod } from "../rpc/method.ts";
import { METHODS } from "../rpc/methods.ts";
import { sheafGlue, sheafOverlap } from "../rpc/handlers/sheaf.ts";
import { readResponse } from "../rpc/envelope.ts";
import { SheafOverlapMessageCodec } from "../schema/sheaf_capnp.ts";
import { startTestService } from "./_rpc_harness.ts";
import { requestFrame } from "./_frames.ts";

/** The harness plan's maxPropertiesPerOverlap. */
const PROPERTIES_MAX = 128;

/** The methods, with the sheaf handlers replaced by ones that count their runs. */
function countingMethods(runs: Map<string, number>): AnyMethodSpec[] {
  const counted = (spec: AnyMethodSpec) =>
    defineMethod({
      ...spec,
      handle: () => {
        runs.set(spec.name, (runs.get(spec.name) ?? 0) + 1);
        throw new RpcError("aborted", "Cannot answer: the counting handler ran");
      },
    });
  return METHODS.map((spec) => spec === sheafOverlap || spec === sheafGlue ? counted(spec) : spec);
}

const properties = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: "" }));

async function refusal(promise: Promise<unknown>): Promise<RpcError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof RpcError)) throw new assert.AssertionError({ message: String(error) });
  return error;
}

Deno.test("an over-limit overlap is refused while decoding, before the handler runs", async () => {
  const runs = new Map<string, number>();
  const t = await startTestService({ methods: countingMethods(runs) });
  const binary = new RpcClient({ url: t.plainUrl });
  const json = new RpcClient({ url: t.plainUrl, wire: "json" });
  const over = { a: "a", b: "b", properties: properties(PROPERTIES_MAX + 1) };
  const glue = { ...over, expectedVersionA: 0, expectedVersionB: 0, resolve: false };
  try {
    for (const client of [binary, json]) {
      for (const [method, params] of [["sheaf.overlap", over], ["sheaf.glue", glue]] as const) {
        const error = await refusal(client.call(method, params));
        assert.equal(error.code, "invalid_argument", `${method}: ${error.message}`);
        assert.match(error.message, /length 129 exceeds 128/, method);
      }
    }
    // In a batch too (binary only).
    const frame = requestFrame("sheaf.overlap", SheafOverlapMessageCodec, over, 7);
    const response = await fetch(`${t.plainUrl}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/capnp" },
      body: frame,
    });
    const answer = readResponse(new Uint8Array(await response.arrayBuffer()));
    assert.equal(answer.requestId, 7);
    assert.equal(answer.error?.code, "invalid_argument");
    assert.match(answer.error?.message ?? "", /length 129 exceeds 128/);
    assert.equal(runs.size, 0, "no sheaf handler ran");
    // At the limit the params decode and the handler runs (and answers with its own error).
    const atLimit = { ...over, properties: properties(PROPERTIES_MAX) };
    for (const client of [binary, json]) {
      const error = await refusal(client.call("sheaf.overlap", atLimit));
      assert.equal(error.code, "aborted", error.message);
    }
    assert.equal(runs.get("sheaf.overlap"), 2);
  } finally {
    await binary.close();
    await json.close();
    await t.close();
  }
});
