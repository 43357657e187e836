/**
 * Conformance: h2spec (the HTTP/2 conformance suite, a static binary kept outside the
 * repository) against the engine behind a small TLS listener. H2SPEC_BIN names the binary (CI:
 * `.ci/run` sets it when the binary is there); when it is unset nothing is installed and the test is reported as
 * ignored, like the compile test. H2SPEC_RUNS runs it that many times in a row (default 1).
 */

import assert from "@std/assert";
import type { H2Handler } from "../http2/mod.ts";
import { runCommand } from "./_command.ts";
import { envInt } from "./_fuzz.ts";
import { startH2Server } from "./_h2_server.ts";
import { startTestService } from "./_rpc_harness.ts";

const H2SPEC_BIN = Deno.env.get("H2SPEC_BIN");
const RUNS = envInt("H2SPEC_RUNS", 1);
const BODY = new TextEncoder().encode("hello from the worknode HTTP/2 engine\n");
/** Said in a test's name only when it is skipped, so a run that did run it does not say otherwise. */
const SKIP_REASON = H2SPEC_BIN
  ? ""
  : " (skipped: H2SPEC_BIN is not set; point it at the h2spec 2.6.0 binary to run it)";

/** Answers GET at once and a request with a body after its end, granting as it reads. */
const handler: H2Handler = {
  onRequest(head, stream) {
    if (head.endStream) stream.respond(200, [["content-type", "text/plain"]], BODY);
    return {
      onData: (bytes) => stream.grant(bytes.length),
      onEnd: () => stream.respond(200, [["content-type", "text/plain"]], BODY),
      onAbort() {},
    };
  },
};

/** Runs h2spec RUNS times against `port` (TLS) and asserts every case passed each time. */
async function runH2spec(port: number, what: string): Promise<void> {
  for (let run = 1; run <= RUNS; run++) {
    const args = ["-h", "127.0.0.1", "-p", String(port), "-t", "-k", "-o", "5"];
    const result = await runCommand(H2SPEC_BIN!, args);
    const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(
      result.stdout,
    );
    if (summary === null) {
      throw new Error(
        `run ${run}: no summary in h2spec's output:\n${result.stdout}${result.stderr}`,
      );
    }
    const [total, passed, skipped, failed] = summary.slice(1).map(Number);
    const failures = result.stdout.split("\n").filter((line) => line.includes("×")).join("\n");
    assert.equal(failed, 0, `run ${run}: ${failed} failed:\n${failures}`);
    assert.equal(skipped, 0, `run ${run}: ${skipped} skipped`);
    assert.equal(passed, total);
    assert.ok(total >= 146, `run ${run}: only ${total} cases`);
    console.log(`h2spec against ${what}, run ${run}/${RUNS}: ${summary[0]}`);
  }
}

Deno.test({
  name: `h2spec: every case passes against the engine over TLS${SKIP_REASON}`,
  ignore: !H2SPEC_BIN,
  async fn() {
    const server = await startH2Server({ handler });
    try {
      await runH2spec(server.port, "the engine");
      assert.deepEqual(server.handlerErrors, []);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: `h2spec: every case passes against the service's TLS port${SKIP_REASON}`,
  ignore: !H2SPEC_BIN,
  async fn() {
    const t = await startTestService();
    try {
      await runH2spec(t.svc.port, "the service");
    } finally {
      await t.close();
    }
  },
});
