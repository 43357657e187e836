/**
 * What auth and the request log cost on the hot path, in process over a real pool (no sockets),
 * before and after they left it, measured in the same run:
 *
 * - auth: the former check (SHA-256 of the presented token and a scan of every digest, on every
 *   call) against the current one (a token that matched before is a map lookup);
 * - request log: the former line (JSON.stringify of an object, then one synchronous write per line,
 *   which is what console.log did) against the buffered log (concatenated line, batched async
 *   writes). Both write to a real file, as a deployment would.
 *
 * A whole-call row runs 100 JSON `system.echo` calls through the call core (in process, opened as
 * a transport opens them) and, where the buffered
 * log is on, awaits its flush: a loop of calls that only awaits microtasks never gives the file
 * write a turn of the event loop, whereas a served call arrives through one. Each group prints
 * ratios against its baseline; the run fails if the buffered log dropped a line.
 *
 * Run: `deno bench --unstable-net -A bench/auth_log_bench.ts`
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Authenticator, hashToken, type Principal, type TokenRecord } from "../rpc/auth.ts";
import { RequestLog, type RequestLogEntry, type RequestLogSink } from "../rpc/request_log.ts";
import { callInProcess, coreWith, pool } from "./_rpc_in_process.ts";

/** The calls per whole-call row (the buffered log holds them in one half: ~20 KB). */
const CALLS_PER_ROW = 100;
/** The log files are truncated past this size so a long run does not fill the disk. */
const LOG_FILE_BYTES_MAX = 64 * 1024 * 1024;

// Ten tokens, as a small deployment might have: a miss scans all of them.
const tokens: TokenRecord[] = Array.from({ length: 10 }, (_, i) => ({
  name: `t${i}`,
  scope: "write" as const,
  sha256: hashToken(`token-${i}`),
}));

/** The check as it was: every call hashes the token and scans every digest. */
class FormerAuthenticator extends Authenticator {
  readonly #digests: Uint8Array[];
  readonly #principals: Principal[];
  constructor(records: readonly TokenRecord[]) {
    super(records);
    this.#digests = records.map((t) =>
      Uint8Array.from(t.sha256.match(/../g)!, (h) => parseInt(h, 16))
    );
    this.#principals = records.map((t) => ({ name: t.name, scope: t.scope }));
  }
  override identify(authorization: string | null): Principal | null {
    if (authorization === null || authorization.length > 512 + 7) return null;
    if (!/^bearer /i.test(authorization)) return null;
    const token = authorization.slice(7).trim();
    if (token.length === 0) return null;
    const presented = createHash("sha256").update(token).digest();
    let found = -1;
    for (let i = 0; i < this.#digests.length; i++) {
      let diff = 0;
      for (let j = 0; j < 32; j++) diff |= this.#digests[i][j] ^ presented[j];
      const match = ((diff - 1) >>> 31) & 1;
      found ^= (found ^ i) & -match;
    }
    return found < 0 ? null : this.#principals[found];
  }
}

const dir = await Deno.makeTempDir({ prefix: "auth-log-bench-" });
const encoder = new TextEncoder();

/** A file opened for appending whose size stays under LOG_FILE_BYTES_MAX. */
function boundedFile(name: string) {
  const file = Deno.openSync(`${dir}/${name}`, { write: true, create: true, truncate: true });
  let sizeBytes = 0;
  const room = (bytes: number) => {
    if (sizeBytes + bytes <= LOG_FILE_BYTES_MAX) return;
    file.truncateSync(0);
    file.seekSync(0, Deno.SeekMode.Start);
    sizeBytes = 0;
  };
  const sink: RequestLogSink = {
    async write(bytes) {
      room(bytes.length);
      const n = await file.write(bytes);
      sizeBytes += n;
      return n;
    },
  };
  const writeSync = (bytes: Uint8Array) => {
    room(bytes.length);
    sizeBytes += file.writeSync(bytes);
  };
  return { file, sink, writeSync };
}

const formerFile = boundedFile("former.log");
const bufferedFile = boundedFile("buffered.log");

/** The log as it was: one JSON.stringify of an object and one synchronous write per line. */
class FormerRequestLog extends RequestLog {
  override record(entry: RequestLogEntry): void {
    formerFile.writeSync(encoder.encode(
      JSON.stringify({
        ts: new Date().toISOString(),
        level: "info",
        msg: "rpc",
        method: entry.method,
        code: entry.code,
        httpStatus: entry.httpStatus,
        durationMs: Math.round(entry.durationMs * 1000) / 1000,
        bytesIn: entry.bytesIn,
        bytesOut: entry.bytesOut,
        leasesHeld: entry.leasesHeld,
        transport: entry.transport,
      }) + "\n",
    ));
  }
}

const formerAuth = new FormerAuthenticator(tokens);
const auth = new Authenticator(tokens);
const formerLog = new FormerRequestLog();
const log = new RequestLog({ sink: bufferedFile.sink });

const cores = {
  plain: coreWith({}),
  formerAuth: coreWith({ auth: formerAuth }),
  auth: coreWith({ auth }),
  formerLog: coreWith({ requestLog: formerLog }),
  log: coreWith({ requestLog: log }),
  formerBoth: coreWith({ auth: formerAuth, requestLog: formerLog }),
  both: coreWith({ auth, requestLog: log }),
};
type Core = typeof cores.plain;

const BODY = encoder.encode('{"payload":"AQIDBAUGBwg="}');
/** One JSON call to `method`, presenting `token` (null: no header). */
async function run(core: Core, method = "system.echo", token: string | null = "token-9") {
  await callInProcess(
    core,
    method,
    "application/json",
    BODY,
    token === null ? null : `Bearer ${token}`,
  );
}

/** CALLS_PER_ROW echo calls, then the buffered log's flush when the core has it. */
async function calls(core: Core, flush: boolean) {
  for (let i = 0; i < CALLS_PER_ROW; i++) await run(core);
  if (flush) await log.flush();
}

// Every core warmed before the first row, so the first row (the baseline) is not the one that
// pays for the JIT and the first allocations.
for (let round = 0; round < 5; round++) {
  for (const core of Object.values(cores)) await calls(core, true);
}

const ECHO = `echo x${CALLS_PER_ROW}`;
Deno.bench(`${ECHO}: no auth, no log`, { group: "echo", baseline: true }, async () => {
  await calls(cores.plain, false);
});
Deno.bench(
  `${ECHO}: auth + log, former (SHA-256 per call, sync line)`,
  { group: "echo" },
  async () => {
    await calls(cores.formerBoth, false);
  },
);
Deno.bench(`${ECHO}: auth + log, now (cached token, buffered)`, { group: "echo" }, async () => {
  await calls(cores.both, true);
});

Deno.bench(`${ECHO}: auth, former`, { group: "auth call", baseline: true }, async () => {
  await calls(cores.formerAuth, false);
});
Deno.bench(`${ECHO}: auth, now`, { group: "auth call" }, async () => {
  await calls(cores.auth, false);
});

Deno.bench(`${ECHO}: log, former`, { group: "log call", baseline: true }, async () => {
  await calls(cores.formerLog, false);
});
Deno.bench(`${ECHO}: log, now`, { group: "log call" }, async () => {
  await calls(cores.log, true);
});

Deno.bench("reject: unknown method", { group: "reject", baseline: true }, async () => {
  await run(cores.auth, "no.such", null);
});
Deno.bench("reject: no token (401)", { group: "reject" }, async () => {
  await run(cores.auth, "system.echo", null);
});
Deno.bench("reject: bad token (401)", { group: "reject" }, async () => {
  await run(cores.auth, "system.echo", "wrong");
});

// The pieces alone (no Request, no Response): far less noisy on a busy box than whole calls.
Deno.bench("auth.check, valid token of 10: former", { group: "auth", baseline: true }, () => {
  formerAuth.check("Bearer token-9", true);
});
Deno.bench("auth.check, valid token of 10: now (remembered)", { group: "auth" }, () => {
  auth.check("Bearer token-9", true);
});
Deno.bench("auth.check, bad token: now (hashed and scanned)", { group: "auth" }, () => {
  auth.check("Bearer token-x", true);
});
Deno.bench("auth.check, no header", { group: "auth" }, () => {
  auth.check(null, true);
});

const ENTRY: RequestLogEntry = {
  method: "system.echo",
  code: "ok",
  httpStatus: 200,
  durationMs: 0.0421,
  bytesIn: 26,
  bytesOut: 26,
  leasesHeld: 0,
  transport: "h1",
};
const LINES = `${CALLS_PER_ROW} log lines`;
Deno.bench(`${LINES}: former (stringify + sync write each)`, {
  group: "log",
  baseline: true,
}, () => {
  for (let i = 0; i < CALLS_PER_ROW; i++) formerLog.record(ENTRY);
});
Deno.bench(`${LINES}: now (buffered, one async write)`, { group: "log" }, async () => {
  for (let i = 0; i < CALLS_PER_ROW; i++) log.record(ENTRY);
  await log.flush();
});

globalThis.addEventListener("unload", () => {
  pool.close();
  formerFile.file.close();
  bufferedFile.file.close();
  Deno.removeSync(dir, { recursive: true });
  // Every row above flushes within one half of the buffer: a drop means the figures are wrong.
  if (log.droppedLineCount !== 0) {
    throw new Error(`Cannot trust the log rows: ${log.droppedLineCount} lines dropped`);
  }
});
