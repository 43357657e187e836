/**
 * What auth and the request log cost on the hot path, in process over a real pool (no sockets):
 * a JSON `system.echo` call through `app.fetch` with auth off / on, the log off / on (written to
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
import { appWith, pool } from "./_rpc_in_process.ts";

// Ten tokens, as a small deployment might have: the check scans all of them.
const tokens = Array.from({ length: 10 }, (_, i) => ({
  name: `t${i}`,
  scope: "write" as const,
  sha256: hashToken(`token-${i}`),
}));
const auth = new Authenticator(tokens);
const sink = new RequestLog(() => {});

const plainApp = appWith({});
const authApp = appWith({ auth });
const logApp = appWith({ requestLog: sink });
const bothApp = appWith({ auth, requestLog: sink });

const BODY = '{"payload":"AQIDBAUGBwg="}';
function echo(method = "system.echo", token: string | null = "token-9"): Request {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-length": String(BODY.length),
  };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return new Request(`http://127.0.0.1/rpc/${method}`, { method: "POST", headers, body: BODY });
}

async function run(fetch: (r: Request) => Response | Promise<Response>, request: Request) {
  const response = await fetch(request);
  await response.arrayBuffer();
}

Deno.bench("echo: no auth, no log", { group: "echo", baseline: true }, async () => {
  await run(plainApp.fetch, echo());
});
Deno.bench("echo: auth (10 tokens)", { group: "echo" }, async () => {
  await run(authApp.fetch, echo());
});
Deno.bench("echo: request log (dropped)", { group: "echo" }, async () => {
  await run(logApp.fetch, echo());
});
Deno.bench("echo: auth + request log", { group: "echo" }, async () => {
  await run(bothApp.fetch, echo());
});
Deno.bench("reject: unknown method", { group: "reject", baseline: true }, async () => {
  await run(authApp.fetch, echo("no.such", null));
});
Deno.bench("reject: no token (401)", { group: "reject" }, async () => {
  await run(authApp.fetch, echo("system.echo", null));
});
Deno.bench("reject: bad token (401)", { group: "reject" }, async () => {
  await run(authApp.fetch, echo("system.echo", "wrong"));
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
  for (const app of [plainApp, authApp, logApp, bothApp]) app.close();
  pool.close();
});
