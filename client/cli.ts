/**
 * `deno task call [--url URL] [--http 1|2|3] [--ca FILE] [--token T] [--timeout-ms N]
 * METHOD 'JSON'`: calls one method with JSON params and prints the result as JSON. An RPC error
 * prints `{"error":{...}}` and exits 1; bad arguments print one line and exit 2.
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
  "[--data-dir DIR] METHOD 'JSON'";

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
    if (!["url", "http", "ca", "token", "timeout-ms", "data-dir"].includes(name)) {
      throw new UsageError(`unknown flag --${name}; ${USAGE}`);
    }
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
  };
}

/** The HTTP/3 transport for `--http 3`. */
async function http3Transport(args: CallArgs, caCerts: string[]): Promise<Transport> {
  // Loaded only for --http 3, so HTTP/1.1 and HTTP/2 calls never load the QUIC stack.
  const { createHttp3Transport } = await import("../http3/client.ts");
  return createHttp3Transport({ url: args.url, caCerts });
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
