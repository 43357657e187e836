/**
 * Where the service's bearer tokens come from: the `WORKNODE_TOKENS` environment variable (JSON),
 * else `--tokens-file` (the same JSON), else `<data-dir>/tokens.json`, which the first start
 * creates with one generated admin token. Only digests are kept; the generated token itself is
 * written once to `<data-dir>/admin.token` (mode 0600) for the operator and `deno task call`.
 *
 * Files are checked and written with care: a world-writable tokens file is refused (anyone could
 * add an admin token to it); `admin.token` and `tokens.json` are written to a new private file
 * (`createNew`, which never follows a link) renamed over the target (a rename replaces a
 * symbolic link, it does not write through it). A source with no token at all, or an
 * `admin.token` that matches none of the data directory's tokens, is a warning, and the
 * `admin.token` path is then not reported as usable.
 *
 * @module
 */

import { join } from "node:path";
import { hashToken, parseTokens, type TokenRecord } from "../rpc/auth.ts";
import { octalMode } from "./data_dir.ts";

/** The environment variable holding tokens JSON (takes precedence over `--tokens-file`). */
export const TOKENS_ENV = "WORKNODE_TOKENS";
/** The generated digests file and the generated token file, under the data directory. */
export const TOKENS_FILE_NAME = "tokens.json";
export const ADMIN_TOKEN_FILE_NAME = "admin.token";
/** A tokens file larger than this is refused before parsing. */
const TOKENS_FILE_BYTES_MAX = 1024 * 1024;
/** An admin.token larger than this is not a token of ours (only read to check it). */
const ADMIN_TOKEN_FILE_BYTES_MAX = 4096;
/** The mode of every file written here. */
const PRIVATE_FILE_MODE = 0o600;
/** The "others may write" permission bit. */
const WORLD_WRITABLE_BIT = 0o002;

/** What {@link loadTokens} found. */
export interface LoadedTokens {
  readonly tokens: readonly TokenRecord[];
  /** Where they came from: `WORKNODE_TOKENS`, a file path. */
  readonly source: string;
  /**
   * `<data-dir>/admin.token` when the tokens are the data directory's own and that file holds
   * one of them, else null.
   */
  readonly adminTokenPath: string | null;
  /** True when this call generated the admin token. */
  readonly generated: boolean;
  /** One sentence per problem worth a warning line (no tokens, a stale admin.token). */
  readonly warnings: readonly string[];
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
    return loaded(tokens, TOKENS_ENV, null, false, []);
  }
  if (config.tokensFile !== undefined) {
    const tokens = parseTokens(await readTokensFile(config.tokensFile), config.tokensFile);
    return loaded(tokens, config.tokensFile, null, false, []);
  }
  return await dataDirTokens(config.dataDir);
}

/** The result, with the no-token warning added when the source holds none. */
function loaded(
  tokens: readonly TokenRecord[],
  source: string,
  adminTokenPath: string | null,
  generated: boolean,
  warnings: string[],
): LoadedTokens {
  if (tokens.length === 0) {
    warnings.unshift(`${source} holds no tokens: every call that needs a token answers 401`);
  }
  return { tokens, source, adminTokenPath, generated, warnings };
}

/**
 * Reads a tokens file, refusing one over the size bound or writable by anyone. Throws a
 * TypeError naming the file; its cause is the underlying error (NotFound for a missing file).
 */
async function readTokensFile(path: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw new TypeError(`Cannot read tokens file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const mode = info.mode ?? 0;
  if ((mode & WORLD_WRITABLE_BIT) !== 0) {
    throw new TypeError(
      `Cannot use tokens file ${path}: it is world-writable (mode ${octalMode(mode)}), so ` +
        `anyone could add a token; run chmod o-w on it and start again`,
    );
  }
  if (info.size > TOKENS_FILE_BYTES_MAX) {
    throw new RangeError(
      `Cannot read tokens file ${path}: ${info.size} bytes exceed ${TOKENS_FILE_BYTES_MAX}`,
    );
  }
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new TypeError(`Cannot read tokens file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Writes `text` to `path` without following a link at `path`: a new file (mode 0600, created
 * with `createNew`, so a link planted at its temporary name is refused) renamed over `path`.
 * Throws naming `path`.
 */
async function writePrivateFile(path: string, text: string, what: string): Promise<void> {
  const temporary = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(temporary, text, { createNew: true, mode: PRIVATE_FILE_MODE });
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new TypeError(`Cannot write ${what} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The digest of the token in `path` when it is a small regular file (not a link), else null. */
async function adminTokenDigest(path: string): Promise<string | null> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.size > ADMIN_TOKEN_FILE_BYTES_MAX) return null;
    return hashToken((await Deno.readTextFile(path)).trim());
  } catch {
    return null;
  }
}

/** The data directory's tokens, generating an admin token when there are none yet. */
async function dataDirTokens(dataDir: string): Promise<LoadedTokens> {
  const tokensPath = join(dataDir, TOKENS_FILE_NAME);
  const adminTokenPath = join(dataDir, ADMIN_TOKEN_FILE_NAME);
  let text: string | null = null;
  try {
    text = await readTokensFile(tokensPath);
  } catch (error) {
    if (!((error as Error).cause instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== null) {
    const tokens = parseTokens(text, tokensPath);
    const digest = await adminTokenDigest(adminTokenPath);
    if (digest !== null && tokens.some((token) => token.sha256 === digest)) {
      return loaded(tokens, tokensPath, adminTokenPath, false, []);
    }
    const warnings = digest === null
      ? []
      : [`${adminTokenPath} matches no token in ${tokensPath}: it is not used`];
    return loaded(tokens, tokensPath, null, false, warnings);
  }
  const token = generateToken();
  const tokens = [{ name: "admin", scope: "admin" as const, sha256: hashToken(token) }];
  // The token file first: if the process dies between the two writes, the next start simply
  // generates a new pair instead of leaving a digest whose token nobody has.
  await writePrivateFile(adminTokenPath, token + "\n", "admin token file");
  await writePrivateFile(tokensPath, JSON.stringify({ tokens }, null, 2) + "\n", "tokens file");
  return loaded(tokens, tokensPath, adminTokenPath, true, []);
}

/** A new random token: 32 bytes as base64url (43 characters). */
export function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
