/**
 * `deno task call [--url URL] [--http 1|2|3] [--ca FILE] [--token T] [--timeout-ms N] [--get
 * [--if-none-match TAG]] METHOD 'JSON'`: calls one method with JSON params and prints the
 * result as JSON. An RPC error prints `{"error":{...}}` and exits 1; bad arguments print one
 * line and exit 2. Answers may come compressed (the client decodes zstd and gzip).
 *
 * `--get` calls a side-effect-free method with GET: the answer's entity tag goes to stderr as
 * `etag: <tag>`; with `--if-none-match TAG` (a tag printed before) an unchanged answer prints
 * `{"notModified":true,"etag":TAG}` and exits 0.
 *
 * Defaults: `--url https://localhost:8443`, `--ca ./data/certs/ca.pem` and the token in
 * `./data/admin.token` when those files exist (`--data-dir` moves both).
 *
 * @module
 */

import { join } from "node:path";
import { RpcError } from "../errors/rpc_error.ts";
import { RpcClient, type RpcClientOptions, type Transport } from "./mod.ts";

/** Parsed command line of the call CLI. */
export interface CallArgs {
  readonly url: string;
  readonly http: 1 | 2 | 3;
  readonly caPath: string | null;
  readonly token: string | null;
  readonly timeoutMs: number | null;
  readonly method: string;
  readonly params: unknown;
  /** Call with GET. */
  readonly get: boolean;
  /** GET only: sent as If-None-Match. */
  readonly ifNoneMatch: string | null;
}

/** A bad command line; `main` prints its message and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const USAGE =
  "usage: deno task call [--url URL] [--http 1|2|3] [--ca FILE] [--token T] [--timeout-ms N] " +
  "[--data-dir DIR] [--get [--if-none-match TAG]] METHOD 'JSON'";

/** Flags with a value, and switches (no value). */
const VALUE_FLAGS = ["url", "http", "ca", "token", "timeout-ms", "data-dir", "if-none-match"];
const SWITCHES = ["get"];

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Parses the CLI arguments (at most 32, each flag once).
 *
 * @example
 * ```ts
 * await parseCallArgs(["system.echo", '{"payload":"AQ=="}']);
 * ```
 */
export async function parseCallArgs(args: readonly string[]): Promise<CallArgs> {
  if (args.length > 32) throw new UsageError(`too many arguments (${args.length}); ${USAGE}`);
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    if (SWITCHES.includes(name) && eq < 0) {
      flags.set(name, "true");
      continue;
    }
    if (!VALUE_FLAGS.includes(name)) throw new UsageError(`unknown flag --${name}; ${USAGE}`);
    const value = eq < 0 ? args[++i] : a.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags.set(name, value);
  }
  if (positional.length < 1 || positional.length > 2) throw new UsageError(USAGE);
  const http = Number(flags.get("http") ?? "1");
  if (http !== 1 && http !== 2 && http !== 3) throw new UsageError(`--http must be 1, 2 or 3`);
  let params: unknown = {};
  if (positional[1] !== undefined) {
    try {
      params = JSON.parse(positional[1]);
    } catch {
      throw new UsageError(`params are not JSON: ${positional[1].slice(0, 80)}`);
    }
  }
  const timeout = flags.get("timeout-ms");
  if (timeout !== undefined && !/^[0-9]{1,9}$/.test(timeout)) {
    throw new UsageError(`--timeout-ms must be a positive integer`);
  }
  const get = flags.has("get");
  if (flags.has("if-none-match") && !get) throw new UsageError("--if-none-match needs --get");
  const dataDir = flags.get("data-dir") ?? "data";
  const defaultCa = join(dataDir, "certs", "ca.pem");
  const caPath = flags.get("ca") ?? ((await readIfExists(defaultCa)) === null ? null : defaultCa);
  const token = flags.get("token") ??
    (await readIfExists(join(dataDir, "admin.token")))?.trim() ?? null;
  return {
    url: flags.get("url") ?? "https://localhost:8443",
    http,
    caPath,
    token,
    timeoutMs: timeout === undefined ? null : Number(timeout),
    method: positional[0],
    params,
    get,
    ifNoneMatch: flags.get("if-none-match") ?? null,
  };
}

/** The HTTP/3 transport for `--http 3`. */
async function http3Transport(args: CallArgs, caCerts: string[]): Promise<Transport> {
  // Loaded only for --http 3, so HTTP/1.1 and HTTP/2 calls never load the QUIC stack.
  const { createHttp3Transport } = await import("../http3/client.ts");
  return createHttp3Transport({ url: args.url, caCerts });
}

/** A GET call: the result (its tag to stderr), or the notice that the held tag is current. */
async function printGet(client: RpcClient, args: CallArgs): Promise<number> {
  const outcome = await client.get(args.method, args.params, {
    ifNoneMatch: args.ifNoneMatch ?? undefined,
  });
  if (outcome.status === 304) {
    console.log(JSON.stringify({ notModified: true, etag: outcome.etag ?? args.ifNoneMatch }));
    return 0;
  }
  if (outcome.etag !== null) console.error(`etag: ${outcome.etag}`);
  console.log(JSON.stringify(outcome.result, null, 2));
  return 0;
}

/** Runs the CLI and returns the exit code (0 ok, 1 RPC error, 2 usage). */
export async function main(args: readonly string[]): Promise<number> {
  let client: RpcClient | null = null;
  try {
    const parsed = await parseCallArgs(args);
    const caCerts = parsed.caPath === null ? [] : [await Deno.readTextFile(parsed.caPath)];
    const options: RpcClientOptions = {
      url: parsed.url,
      http: parsed.http === 2 ? 2 : 1,
      wire: "json",
      caCerts,
      token: parsed.token ?? undefined,
      timeoutMs: parsed.timeoutMs ?? undefined,
      transport: parsed.http === 3 ? await http3Transport(parsed, caCerts) : undefined,
    };
    client = new RpcClient(options);
    if (parsed.get) return await printGet(client, parsed);
    const result = await client.callJson(parsed.method, parsed.params);
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof RpcError) {
      const body = { code: error.code, message: error.message, details: error.details ?? {} };
      console.log(JSON.stringify({ error: body }, null, 2));
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    console.log(JSON.stringify({ error: { code: "unavailable", message } }, null, 2));
    return 1;
  } finally {
    await client?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
