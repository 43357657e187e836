/**
 * Bearer-token authentication and scope checks.
 *
 * Tokens are stored only as SHA-256 digests (hex in files, bytes in memory). A presented token is
 * hashed and its digest compared with every stored digest by a constant-time loop, so neither the
 * comparison nor the lookup returns early on the first differing byte. A token that matched is
 * then remembered in memory, so its next calls skip the hash (see {@link Authenticator}). Scopes nest:
 * `admin` ⊇ `write` ⊇ `read`. Mutating methods need `write` or `admin`; read-only methods need any
 * token unless public reads are on.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { RpcError } from "../errors/rpc_error.ts";

/** Token scopes, weakest first. */
export const SCOPES = ["read", "write", "admin"] as const;

/** A token scope. */
export type Scope = typeof SCOPES[number];

/** One token as stored: a name for logs, a scope, and the SHA-256 digest of the token (hex). */
export interface TokenRecord {
  readonly name: string;
  readonly scope: Scope;
  readonly sha256: string;
}

/** The most tokens one file may hold: bounds parsing and the per-request scan. */
export const TOKEN_COUNT_MAX = 1024;
/** A presented token longer than this is refused before hashing. */
export const TOKEN_CHARS_MAX = 512;
/** A token name longer than this is refused. */
const TOKEN_NAME_CHARS_MAX = 64;

/** Who a request is, after its token matched. */
export interface Principal {
  readonly name: string;
  readonly scope: Scope;
}

/** The digest of a token, as stored (lower-case hex SHA-256). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Parses a tokens document: `{"tokens": [{"name", "scope", "sha256"}]}` or the array alone.
 * Throws TypeError/RangeError naming the first bad entry.
 *
 * @example
 * ```ts
 * parseTokens(JSON.stringify([{ name: "ci", scope: "write", sha256: hashToken("s3cret") }]));
 * ```
 */
export function parseTokens(text: string, source = "tokens"): TokenRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`Cannot read ${source}: ${(error as Error).message.split("\n")[0]}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) {
    throw new TypeError(`Cannot read ${source}: expected {"tokens": [...]} or an array`);
  }
  if (list.length > TOKEN_COUNT_MAX) {
    throw new RangeError(`Cannot read ${source}: ${list.length} tokens exceed ${TOKEN_COUNT_MAX}`);
  }
  return list.map((entry, i) => tokenRecord(entry, `${source} entry ${i}`));
}

function tokenRecord(entry: unknown, where: string): TokenRecord {
  const e = entry as Partial<Record<keyof TokenRecord, unknown>> | null;
  if (e === null || typeof e !== "object") {
    throw new TypeError(`Cannot read ${where}: not an object`);
  }
  const name = e.name;
  if (typeof name !== "string" || name.length === 0 || name.length > TOKEN_NAME_CHARS_MAX) {
    throw new TypeError(`Cannot read ${where}: name must be 1..${TOKEN_NAME_CHARS_MAX} characters`);
  }
  if (!(SCOPES as readonly unknown[]).includes(e.scope)) {
    throw new TypeError(`Cannot read ${where} (${name}): scope must be ${SCOPES.join(", ")}`);
  }
  if (typeof e.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(e.sha256)) {
    throw new TypeError(`Cannot read ${where} (${name}): sha256 must be 64 hex digits`);
  }
  return Object.freeze({ name, scope: e.scope as Scope, sha256: e.sha256.toLowerCase() });
}

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** Read-only methods answer without a token. Default false. */
  readonly publicRead?: boolean;
}

/** Bytes of a lower-case hex digest. */
function digestBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Checks bearer tokens against stored digests and method scopes.
 *
 * A token that matched is remembered (token → principal), so its later calls cost a map lookup
 * instead of a SHA-256 and a scan. Only matches are remembered, never misses: the table holds at
 * most one entry per configured token (each stored digest has one preimage anyone can present),
 * so random tokens sprayed at the service cannot grow it or push a valid entry out, and there is
 * no eviction to abuse. A miss still pays the hash and the constant-time scan. The lookup's timing
 * tells whether a token is known, which the answer (401 or not) already says.
 */
export class Authenticator {
  readonly publicRead: boolean;
  #digests: Uint8Array[] = [];
  #principals: Principal[] = [];
  /** Presented tokens that matched, and their principal. Bounded by the token count. */
  readonly #known = new Map<string, Principal>();
  /** One 403 error per principal, made once: building an Error (its stack) costs microseconds,
   * and rejections are the path an abusive client keeps hot. Bounded by the token count. */
  readonly #denied = new Map<Principal, RpcError>();

  /**
   * @example
   * ```ts
   * const auth = new Authenticator([{ name: "a", scope: "admin", sha256: hashToken("t") }]);
   * auth.check("Bearer t", true); // null: allowed
   * ```
   */
  constructor(tokens: readonly TokenRecord[], options: AuthenticatorOptions = {}) {
    this.publicRead = options.publicRead ?? false;
    this.replaceTokens(tokens);
  }

  /** How many tokens are configured. */
  get tokenCount(): number {
    return this.#digests.length;
  }

  /** How many presented tokens are remembered (at most {@link tokenCount}). */
  get knownTokenCount(): number {
    return this.#known.size;
  }

  /**
   * Swaps in a new token set (a reload) and forgets every remembered token, so a token removed
   * from the set is refused from the next call on. Throws RangeError past TOKEN_COUNT_MAX,
   * keeping the old set.
   *
   * @example
   * ```ts
   * auth.replaceTokens((await loadTokens(config)).tokens);
   * ```
   */
  replaceTokens(tokens: readonly TokenRecord[]): void {
    if (tokens.length > TOKEN_COUNT_MAX) {
      throw new RangeError(
        `Cannot authenticate: ${tokens.length} tokens exceed ${TOKEN_COUNT_MAX}`,
      );
    }
    this.#digests = tokens.map((t) => digestBytes(t.sha256));
    this.#principals = tokens.map((t) => Object.freeze({ name: t.name, scope: t.scope }));
    this.#known.clear();
    this.#denied.clear();
  }

  /**
   * The principal of an `Authorization` header value, or null when it is missing, malformed or
   * matches no token. A token not seen before is hashed and every stored digest compared in full
   * (constant time per digest); one that matched before is a map lookup.
   */
  identify(authorization: string | null): Principal | null {
    if (authorization === null || authorization.length > TOKEN_CHARS_MAX + 7) return null;
    if (!/^bearer /i.test(authorization)) return null;
    const token = authorization.slice(7).trim();
    if (token.length === 0) return null;
    const known = this.#known.get(token);
    if (known !== undefined) return known;
    const found = this.#scan(createHash("sha256").update(token).digest());
    if (found < 0) return null;
    const principal = this.#principals[found];
    // The bound holds by construction (one entry per digest); the check keeps it explicit.
    if (this.#known.size < this.#digests.length) this.#known.set(token, principal);
    return principal;
  }

  /** The index of the stored digest equal to `presented`, or -1; compares every digest fully. */
  #scan(presented: Uint8Array): number {
    let found = -1;
    for (let i = 0; i < this.#digests.length; i++) {
      const stored = this.#digests[i];
      let diff = 0;
      for (let j = 0; j < 32; j++) diff |= stored[j] ^ presented[j];
      // Branch-free select: match is 1 when diff is 0, else 0, and found takes i only then, so
      // the scan's timing does not depend on which entry matched (or whether one did).
      const match = ((diff - 1) >>> 31) & 1;
      found ^= (found ^ i) & -match;
    }
    return found;
  }

  /**
   * Null when a request with this `Authorization` value may call a method, else the RpcError to
   * answer: unauthenticated (401) without a valid token, permission_denied (403) for a `read`
   * token calling a mutating method.
   *
   * @example
   * ```ts
   * const error = auth.check(request.headers.get("authorization"), spec.mutating);
   * if (error !== null) throw error;
   * ```
   */
  check(authorization: string | null, mutating: boolean): RpcError | null {
    if (!mutating && this.publicRead) return null;
    const principal = this.identify(authorization);
    if (principal === null) return authorization === null ? NO_HEADER : BAD_TOKEN;
    if (permits(principal, mutating)) return null;
    let denied = this.#denied.get(principal);
    if (denied === undefined) {
      denied = permissionDenied(principal);
      this.#denied.set(principal, denied);
    }
    return denied;
  }
}

/** Whether a principal's scope allows a method. */
export function permits(principal: Principal, mutating: boolean): boolean {
  return !mutating || principal.scope !== "read";
}

/** The 401 answers, made once (never mutated: dispatch only reads code, message and status). */
const NO_HEADER = new RpcError("unauthenticated", "Cannot call: no Authorization header");
const BAD_TOKEN = new RpcError("unauthenticated", "Cannot call: the bearer token is not valid");

/** The 403 answer for a principal whose scope does not allow a mutating method. */
export function permissionDenied(principal: Principal): RpcError {
  return new RpcError(
    "permission_denied",
    `Cannot call: token "${principal.name}" has scope ${principal.scope}; this method needs write`,
  );
}
