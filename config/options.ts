/**
 * Every configuration option: its flag, environment variable, config-file key, default, and
 * the parser that validates its text. Flags, env, the config file and `--help` all read this
 * one table, so an option is added in one place.
 *
 * @module
 */

import { type Profile, PROFILES } from "../pool/plan.ts";
import {
  CACHE_CONTROL_DEFAULT,
  COMPRESS_MIN_BYTES_DEFAULT,
  CORS_ORIGINS_MAX,
  parseCacheControl,
  parseCorsOrigin,
} from "../rpc/web_config.ts";
import { parseByteSize } from "./byte_size.ts";

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log level name. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The values options configure (the `Config` adds the flag-only switches). */
export interface ConfigValues {
  /** TCP TLS (h2, http/1.1) and UDP QUIC (h3) port; 0 picks a free port. */
  readonly port: number;
  readonly hostname: string;
  /** Holds the SQLite file, generated development certificates and `admin.token`. */
  readonly dataDir: string;
  /** The pool budget in bytes, or null to derive it from available memory. */
  readonly poolBytes: number | null;
  readonly profile: Profile;
  /** `"sqlite"` or a `postgres://` / `postgresql://` URL (what `openStore` takes). */
  readonly store: string;
  /** PEM certificate and key paths; both undefined = generate development certificates. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  /** Plain HTTP/1.1 port, or null for none; 0 picks a free port. */
  readonly plaintextPort: number | null;
  /** The server's maximum `Rpc-Timeout-Ms`. */
  readonly rpcTimeoutMsMax: number;
  /** A file of bearer tokens, or undefined to use the generated admin token. */
  readonly tokensFile: string | undefined;
  /** Read-only (non-mutating) methods answer without a token. */
  readonly publicRead: boolean;
  readonly logLevel: LogLevel;
  /** On SIGTERM/SIGINT, the longest wait for in-flight calls before exiting anyway. */
  readonly shutdownTimeoutMs: number;
  /** Exact origins granted CORS; empty = none (same-origin only). */
  readonly corsOrigins: readonly string[];
  /** Cache-Control of GET answers. */
  readonly cacheControl: string;
  /** Answers of at least this many bytes are compressed when the client accepts it; null = off. */
  readonly compressMinBytes: number | null;
}

/** One option of the table. */
export interface OptionSpec {
  /** The `Config` field, also the config-file key. */
  readonly key: keyof ConfigValues;
  readonly flag: string;
  readonly env: string;
  /** What the value looks like in `--help`, e.g. `N` or `PATH`. */
  readonly valueName: string;
  readonly defaultValue: unknown;
  /** The default as `--help` shows it. */
  readonly defaultText: string;
  readonly description: string;
  /** Validates and converts the text; throws an Error whose message says what is expected. */
  readonly parse: (text: string) => unknown;
  /** The value a bare flag means (`--public-read` alone = `"true"`); absent = a value is needed. */
  readonly bareValue?: string;
  /**
   * The flag may be given more than once: its values are joined with commas (as the
   * environment variable lists them), and the config file may hold an array of strings.
   */
  readonly repeatable?: boolean;
}

/** The pool budget given by flag may not exceed 64 GiB (libpool's block count limits). */
export const POOL_BYTES_FLAG_MAX = 64 * 1024 ** 3;
/** `--rpc-timeout-ms-max` may be at most 10 minutes. */
export const RPC_TIMEOUT_MS_MAX_LIMIT = 600_000;
/** `--shutdown-timeout-ms` may be at most 10 minutes. */
export const SHUTDOWN_TIMEOUT_MS_LIMIT = 600_000;
const PATH_LENGTH_MAX = 4096;

function parseIntegerIn(text: string, min: number, max: number): number {
  if (!/^\d{1,16}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`must be an integer in ${min}..${max}`);
  }
  return Number(text);
}

function parsePort(text: string): number {
  return parseIntegerIn(text, 0, 65535);
}

function parseOptionalPort(text: string): number | null {
  if (text === "off" || text === "") return null;
  return parsePort(text);
}

function parsePath(text: string): string {
  if (text === "" || text.length > PATH_LENGTH_MAX || text.includes("\0")) {
    throw new RangeError(`must be a non-empty path of at most ${PATH_LENGTH_MAX} characters`);
  }
  return text;
}

function parseHostname(text: string): string {
  // Names, IPv4 and bare IPv6 addresses: no scheme, port, path or whitespace.
  if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(text)) {
    throw new RangeError("must be a host name or IP address such as 127.0.0.1, ::1 or localhost");
  }
  return text;
}

function parsePoolBytes(text: string): number | null {
  if (text === "auto") return null;
  const bytes = parseByteSize(text);
  if (bytes < 1 || bytes > POOL_BYTES_FLAG_MAX) {
    throw new RangeError(`must be between 1 byte and 64GiB (or "auto")`);
  }
  return bytes;
}

function parseProfile(text: string): Profile {
  if (!Object.hasOwn(PROFILES, text)) {
    throw new RangeError(`must be one of ${Object.keys(PROFILES).join(", ")}`);
  }
  return text as Profile;
}

function parseStore(text: string): string {
  if (text === "sqlite") return text;
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  const isPostgres = url !== null &&
    (url.protocol === "postgres:" || url.protocol === "postgresql:");
  if (!isPostgres || url === null || url.hostname === "") {
    throw new RangeError('must be "sqlite" or a postgres://user:pass@host:port/db URL');
  }
  return text;
}

function parseBoolean(text: string): boolean {
  if (text === "true" || text === "1" || text === "yes") return true;
  if (text === "false" || text === "0" || text === "no") return false;
  throw new RangeError("must be true or false");
}

/** A comma-separated list of origins (`off` or empty: none). */
function parseCorsOrigins(text: string): readonly string[] {
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (text.trim() === "off") return Object.freeze([]);
  if (items.length > CORS_ORIGINS_MAX) {
    throw new RangeError(`must name at most ${CORS_ORIGINS_MAX} origins`);
  }
  return Object.freeze([...new Set(items.map(parseCorsOrigin))]);
}

/** A byte size, or `off` for never. */
function parseCompressMinBytes(text: string): number | null {
  if (text === "off") return null;
  const bytes = parseByteSize(text);
  if (bytes > 2 ** 31) throw new RangeError(`must be at most 2GiB (or "off")`);
  return bytes;
}

function parseLogLevel(text: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new RangeError(`must be one of ${LOG_LEVELS.join(", ")}`);
  }
  return text as LogLevel;
}

/** The option table, in `--help` order. */
export const OPTIONS: readonly OptionSpec[] = Object.freeze([
  {
    key: "port",
    flag: "--port",
    env: "WORKNODE_PORT",
    valueName: "N",
    defaultValue: 8443,
    defaultText: "8443",
    description: "TCP port for TLS (HTTP/2, HTTP/1.1) and UDP port for QUIC (HTTP/3); 0 = any free",
    parse: parsePort,
  },
  {
    key: "hostname",
    flag: "--hostname",
    env: "WORKNODE_HOSTNAME",
    valueName: "HOST",
    defaultValue: "127.0.0.1",
    defaultText: "127.0.0.1",
    description: "Address to listen on (0.0.0.0 for every interface)",
    parse: parseHostname,
  },
  {
    key: "dataDir",
    flag: "--data-dir",
    env: "WORKNODE_DATA_DIR",
    valueName: "DIR",
    defaultValue: "./data",
    defaultText: "./data",
    description: "SQLite file, generated development certificates, admin.token",
    parse: parsePath,
  },
  {
    key: "poolBytes",
    flag: "--pool-bytes",
    env: "WORKNODE_POOL_BYTES",
    valueName: "SIZE",
    defaultValue: null,
    defaultText: "auto (MemAvailable or cgroup limit; 16MiB..512MiB)",
    description: "Message pool budget (64MiB, 1GiB, 512KiB, bytes); auto = 25% of usable memory",
    parse: parsePoolBytes,
  },
  {
    key: "profile",
    flag: "--profile",
    env: "WORKNODE_PROFILE",
    valueName: "rpc|bulk",
    defaultValue: "rpc",
    defaultText: "rpc",
    description: "Workload profile: rpc (mostly small calls) or bulk (more large blocks)",
    parse: parseProfile,
  },
  {
    key: "store",
    flag: "--store",
    env: "WORKNODE_STORE",
    valueName: "STORE",
    defaultValue: "sqlite",
    defaultText: "sqlite",
    description: "sqlite (embedded, in --data-dir) or a postgres://user:pass@host:port/db URL",
    parse: parseStore,
  },
  {
    key: "cert",
    flag: "--cert",
    env: "WORKNODE_CERT",
    valueName: "PEM",
    defaultValue: undefined,
    defaultText: "generated",
    description: "TLS certificate chain PEM file (with --key)",
    parse: parsePath,
  },
  {
    key: "key",
    flag: "--key",
    env: "WORKNODE_KEY",
    valueName: "PEM",
    defaultValue: undefined,
    defaultText: "generated",
    description: "TLS private key (with --cert)",
    parse: parsePath,
  },
  {
    key: "plaintextPort",
    flag: "--plaintext-port",
    env: "WORKNODE_PLAINTEXT_PORT",
    valueName: "N|off",
    defaultValue: null,
    defaultText: "off",
    description: "Also serve HTTP/1.1 without TLS on this port (tests, behind a proxy)",
    parse: parseOptionalPort,
  },
  {
    key: "rpcTimeoutMsMax",
    flag: "--rpc-timeout-ms-max",
    env: "WORKNODE_RPC_TIMEOUT_MS_MAX",
    valueName: "MS",
    defaultValue: 30000,
    defaultText: "30000",
    description: "Largest deadline a call may ask for with Rpc-Timeout-Ms",
    parse: (text: string) => parseIntegerIn(text, 1, RPC_TIMEOUT_MS_MAX_LIMIT),
  },
  {
    key: "tokensFile",
    flag: "--tokens-file",
    env: "WORKNODE_TOKENS_FILE",
    valueName: "PATH",
    defaultValue: undefined,
    defaultText: "none",
    description: "Bearer tokens file; none = generate <data-dir>/admin.token on first start",
    parse: parsePath,
  },
  {
    key: "publicRead",
    flag: "--public-read",
    env: "WORKNODE_PUBLIC_READ",
    valueName: "[true|false]",
    defaultValue: false,
    defaultText: "false",
    description: "Read-only methods answer without a token (mutating ones always need one)",
    parse: parseBoolean,
    bareValue: "true",
  },
  {
    key: "logLevel",
    flag: "--log-level",
    env: "WORKNODE_LOG_LEVEL",
    valueName: "LEVEL",
    defaultValue: "info",
    defaultText: "info",
    description: `Least severe log level written: ${LOG_LEVELS.join(", ")}`,
    parse: parseLogLevel,
  },
  {
    key: "shutdownTimeoutMs",
    flag: "--shutdown-timeout-ms",
    env: "WORKNODE_SHUTDOWN_TIMEOUT_MS",
    valueName: "MS",
    defaultValue: 10000,
    defaultText: "10000",
    description: "On SIGTERM/SIGINT, how long in-flight calls may take to finish",
    parse: (text: string) => parseIntegerIn(text, 0, SHUTDOWN_TIMEOUT_MS_LIMIT),
  },
  {
    key: "corsOrigins",
    flag: "--cors-origin",
    env: "WORKNODE_CORS_ORIGIN",
    valueName: "ORIGIN",
    defaultValue: Object.freeze([]),
    defaultText: "none",
    description: "Grant CORS to this exact origin (https://app.example.com); repeatable, env: a " +
      "comma-separated list",
    parse: parseCorsOrigins,
    repeatable: true,
  },
  {
    key: "cacheControl",
    flag: "--cache-control",
    env: "WORKNODE_CACHE_CONTROL",
    valueName: "VALUE",
    defaultValue: CACHE_CONTROL_DEFAULT,
    defaultText: CACHE_CONTROL_DEFAULT,
    description: "Cache-Control of answers to GET calls (errors are no-store)",
    parse: parseCacheControl,
  },
  {
    key: "compressMinBytes",
    flag: "--compress-min-bytes",
    env: "WORKNODE_COMPRESS_MIN_BYTES",
    valueName: "SIZE|off",
    defaultValue: COMPRESS_MIN_BYTES_DEFAULT,
    defaultText: String(COMPRESS_MIN_BYTES_DEFAULT),
    description: "Answers of at least this size are sent zstd- or gzip-compressed when accepted",
    parse: parseCompressMinBytes,
  },
].map((spec) => Object.freeze(spec as OptionSpec)));

/** Flags that take no value, with what they do (for `--help`). */
export const SWITCHES = Object.freeze({
  "--dry-run": "Print the boot plan as JSON and exit",
  "--help": "Print this help and exit (also -h)",
});

/** The config-file flag and its environment variable. */
export const CONFIG_FILE_FLAG = "--config";
export const CONFIG_FILE_ENV = "WORKNODE_CONFIG";
