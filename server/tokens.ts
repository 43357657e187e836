/**
 * Where the service's bearer tokens come from: the `WORKNODE_TOKENS` environment variable (JSON),
 * else `--tokens-file` (the same JSON), else `<data-dir>/tokens.json`, which the first start
 * creates with one generated admin token. Only digests are kept; the generated token itself is
 * written once to `<data-dir>/admin.token` (mode 0600) for the operator and `deno task call`.
 *
 * @module
 */

import { join } from "node:path";
import { hashToken, parseTokens, type TokenRecord } from "../rpc/auth.ts";

/** The environment variable holding tokens JSON (takes precedence over `--tokens-file`). */
export const TOKENS_ENV = "WORKNODE_TOKENS";
/** The generated digests file and the generated token file, under the data directory. */
export const TOKENS_FILE_NAME = "tokens.json";
export const ADMIN_TOKEN_FILE_NAME = "admin.token";
/** A tokens file larger than this is refused before parsing. */
const TOKENS_FILE_BYTES_MAX = 1024 * 1024;

/** What {@link loadTokens} found. */
export interface LoadedTokens {
  readonly tokens: readonly TokenRecord[];
  /** Where they came from: `WORKNODE_TOKENS`, a file path. */
  readonly source: string;
  /** `<data-dir>/admin.token` when the tokens are the data directory's own, else null. */
  readonly adminTokenPath: string | null;
  /** True when this call generated the admin token. */
  readonly generated: boolean;
}

/** Options of {@link loadTokens}. */
export interface LoadTokensOptions {
  /** The value of `WORKNODE_TOKENS`; default: read from the environment. */
  readonly envTokens?: string;
}

/**
 * Loads the tokens for a configuration, generating the admin token on the first start when none
 * are configured. Throws TypeError/RangeError (one line) on an unreadable or invalid source.
 *
 * @example
 * ```ts
 * const { tokens, adminTokenPath } = await loadTokens({ dataDir: "./data", tokensFile: undefined });
 * ```
 */
export async function loadTokens(
  config: { readonly dataDir: string; readonly tokensFile: string | undefined },
  options: LoadTokensOptions = {},
): Promise<LoadedTokens> {
  const envText = options.envTokens ?? Deno.env.get(TOKENS_ENV) ?? "";
  if (envText !== "") {
    const tokens = parseTokens(envText, TOKENS_ENV);
    return { tokens, source: TOKENS_ENV, adminTokenPath: null, generated: false };
  }
  if (config.tokensFile !== undefined) {
    const tokens = parseTokens(await readBounded(config.tokensFile), config.tokensFile);
    return { tokens, source: config.tokensFile, adminTokenPath: null, generated: false };
  }
  return await dataDirTokens(config.dataDir);
}

/** Reads a small text file, refusing one over the size bound. */
async function readBounded(path: string): Promise<string> {
  try {
    const info = await Deno.stat(path);
    if (info.size > TOKENS_FILE_BYTES_MAX) {
      throw new RangeError(`${info.size} bytes exceed ${TOKENS_FILE_BYTES_MAX}`);
    }
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(`Cannot read tokens file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The data directory's tokens, generating an admin token when there are none yet. */
async function dataDirTokens(dataDir: string): Promise<LoadedTokens> {
  const tokensPath = join(dataDir, TOKENS_FILE_NAME);
  const adminTokenPath = join(dataDir, ADMIN_TOKEN_FILE_NAME);
  let text: string | null = null;
  try {
    text = await readBounded(tokensPath);
  } catch (error) {
    if (!((error as Error).cause instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== null) {
    const tokens = parseTokens(text, tokensPath);
    return { tokens, source: tokensPath, adminTokenPath, generated: false };
  }
  const token = generateToken();
  const tokens = [{ name: "admin", scope: "admin" as const, sha256: hashToken(token) }];
  // The token file first: if the process dies between the two writes, the next start simply
  // generates a new pair instead of leaving a digest whose token nobody has.
  await Deno.writeTextFile(adminTokenPath, token + "\n", { mode: 0o600 });
  await Deno.chmod(adminTokenPath, 0o600);
  await Deno.writeTextFile(tokensPath, JSON.stringify({ tokens }, null, 2) + "\n", { mode: 0o600 });
  return { tokens, source: tokensPath, adminTokenPath, generated: true };
}

/** A new random token: 32 bytes as base64url (43 characters). */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
