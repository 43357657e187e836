/**
 * What auth and the request log cost on the hot path, in process over a real pool (no sockets):
 * a JSON `system.echo` call through the call core (in process) with auth off / on, the log off / on (written to
 * a sink that drops lines, so the figure is the JSON building, not the terminal), and the
 * rejection of a call without a token against the unknown-method rejection. Each group prints
 * ratios against its baseline, measured in the same run.
 *
 * Run: `deno bench --unstable-net -A bench/auth_log_bench.ts`
 *
 * @module
 */

import { Authenticator, hashToken } from "../rpc/auth.ts";
import { RequestLog } from "../rpc/request_log.ts";
import { callInProcess, coreWith, pool } from "./_rpc_in_process.ts";

// Ten tokens, as a small deployment might have: the check scans all of them.
const tokens = Array.from({ length: 10 }, (_, i) => ({
  name: `t${i}`,
  scope: "write" as const,
  sha256: hashToken(`token-${i}`),
}));
const auth = new Authenticator(tokens);
const sink = new RequestLog(() => {});

const plainApp = coreWith({});
const authApp = coreWith({ auth });
const logApp = coreWith({ requestLog: sink });
const bothApp = coreWith({ auth, requestLog: sink });

const BODY = new TextEncoder().encode('{"payload":"AQIDBAUGBwg="}');
/** A call's arguments: method, and the token it presents. */
function echo(method = "system.echo", token: string | null = "token-9") {
  return { method, authorization: token === null ? null : `Bearer ${token}` };
}

async function run(core: typeof plainApp, call: ReturnType<typeof echo>) {
  await callInProcess(core, call.method, "application/json", BODY, call.authorization);
}

Deno.bench("echo: no auth, no log", { group: "echo", baseline: true }, async () => {
  await run(plainApp, echo());
});
Deno.bench("echo: auth (10 tokens)", { group: "echo" }, async () => {
  await run(authApp, echo());
});
Deno.bench("echo: request log (dropped)", { group: "echo" }, async () => {
  await run(logApp, echo());
});
Deno.bench("echo: auth + request log", { group: "echo" }, async () => {
  await run(bothApp, echo());
});
Deno.bench("reject: unknown method", { group: "reject", baseline: true }, async () => {
  await run(authApp, echo("no.such", null));
});
Deno.bench("reject: no token (401)", { group: "reject" }, async () => {
  await run(authApp, echo("system.echo", null));
});
Deno.bench("reject: bad token (401)", { group: "reject" }, async () => {
  await run(authApp, echo("system.echo", "wrong"));
});

// The pieces alone (no Request, no Response): far less noisy on a busy box than whole calls.
const ENTRY = {
  method: "system.echo",
  code: "ok",
  httpStatus: 200,
  durationMs: 0.0421,
  bytesIn: 26,
  bytesOut: 26,
  leasesHeld: 0,
  transport: "h1" as const,
};
Deno.bench("piece: JSON.stringify of the echo params", { group: "piece", baseline: true }, () => {
  JSON.stringify({ payload: "AQIDBAUGBwg=" });
});
Deno.bench("piece: auth.check, valid token of 10", { group: "piece" }, () => {
  auth.check("Bearer token-9", true);
});
Deno.bench("piece: auth.check, no header", { group: "piece" }, () => {
  auth.check(null, true);
});
Deno.bench("piece: request log line (dropped)", { group: "piece" }, () => {
  sink.record(ENTRY);
});

globalThis.addEventListener("unload", () => {
  pool.close();
});
