/**
 * Loading the configuration: flags over environment variables over an optional JSON config
 * file over defaults, every value validated, every problem reported at once.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import {
  CONFIG_FILE_ENV,
  CONFIG_FILE_FLAG,
  type ConfigValues,
  OPTIONS,
  type OptionSpec,
} from "./options.ts";
import { parseArgs } from "./parse_args.ts";

/** The frozen configuration of one process. */
export interface Config extends ConfigValues {
  /** `--dry-run`: print the boot plan as JSON and exit. */
  readonly dryRun: boolean;
  /** `--help` / `-h`. */
  readonly help: boolean;
  /** The config file read, if any. */
  readonly configFile: string | undefined;
}

/** Options of {@link loadConfig}: where env and files come from (tests inject both). */
export interface LoadConfigOptions {
  /** Environment variables; default: the process's `WORKNODE_*` variables. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads the config file's text; throws when it cannot. Default: `Deno.readTextFileSync`. */
  readonly readFile?: (path: string) => string;
}

/** A config file larger than this is refused before parsing. */
const CONFIG_FILE_CHARS_MAX = 1024 * 1024;

/** Where a value came from, for error lines. */
interface RawValue {
  readonly text: string;
  readonly label: string;
}

/** The process's WORKNODE_* variables (needs --allow-env for them, nothing else). */
function processEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of [CONFIG_FILE_ENV, ...OPTIONS.map((option) => option.env)]) {
    env[name] = Deno.env.get(name);
  }
  return env;
}

/** Reads the config file into raw text per key, adding one error line per problem. */
function readConfigFile(
  path: string,
  readFile: (path: string) => string,
  errors: string[],
): Map<string, RawValue> {
  const raw = new Map<string, RawValue>();
  let parsed: unknown;
  try {
    const text = readFile(path);
    if (text.length > CONFIG_FILE_CHARS_MAX) {
      throw new RangeError(`it exceeds ${CONFIG_FILE_CHARS_MAX} characters`);
    }
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    errors.push(`Cannot read config file ${path}: ${reason}`);
    return raw;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    errors.push(`Cannot read config file ${path}: it must hold a JSON object`);
    return raw;
  }
  const known = new Map(OPTIONS.map((option) => [option.key as string, option]));
  for (const [key, value] of Object.entries(parsed)) {
    const label = `${JSON.stringify(key)} in ${path}`;
    if (!known.has(key)) {
      errors.push(`Unknown key ${JSON.stringify(key)} in config file ${path} (see --help)`);
    } else if (
      typeof value === "string" || typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value))
    ) {
      raw.set(key, { text: String(value), label: `${label} = ${JSON.stringify(value)}` });
    } else if (value === null) {
      raw.set(key, { text: "off", label: `${label} = null` });
    } else if (known.get(key)!.repeatable === true && isStringList(value)) {
      raw.set(key, { text: value.join(","), label: `${label} = ${JSON.stringify(value)}` });
    } else {
      const list = known.get(key)!.repeatable === true ? ", a list of strings" : "";
      errors.push(`Cannot use ${label}: must be a string, a number${list} or a boolean`);
    }
  }
  return raw;
}

/** Whether `value` is an array of at most 256 strings, none holding a comma. */
function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 256 &&
    value.every((item) => typeof item === "string" && !item.includes(","));
}

/** Picks one option's raw value by precedence: flag, then env, then the file. */
function rawValueFor(
  option: OptionSpec,
  flags: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>>,
  file: ReadonlyMap<string, RawValue>,
): RawValue | undefined {
  const flagText = flags.get(option.flag);
  if (flagText !== undefined) {
    return { text: flagText, label: `${option.flag} ${JSON.stringify(flagText)}` };
  }
  const envText = env[option.env];
  // An empty variable counts as unset, as shells make unsetting awkward.
  if (envText !== undefined && envText !== "") {
    return { text: envText, label: `${option.env}=${JSON.stringify(envText)}` };
  }
  return file.get(option.key);
}

/** Checks that need more than one value. */
function crossCheck(values: Record<string, unknown>, errors: string[]): void {
  if ((values.cert === undefined) !== (values.key === undefined)) {
    errors.push("Cannot use --cert without --key (or --key without --cert): give both or neither");
  }
  const port = values.port;
  if (port !== 0 && port !== undefined && values.plaintextPort === port) {
    errors.push(`Cannot use --plaintext-port ${port}: it is also --port`);
  }
}

/**
 * Loads and validates the configuration. Returns a frozen {@link Config}, or throws a
 * {@link ConfigError} whose `lines` hold every problem, one line each.
 *
 * Precedence: flags, then `WORKNODE_*` environment variables, then the JSON file given by
 * `--config` / `WORKNODE_CONFIG` (keys are the `Config` field names), then defaults.
 *
 * @example
 * ```ts
 * const config = loadConfig(["--port", "9443"], { env: { WORKNODE_PROFILE: "bulk" } });
 * config.port; // 9443
 * config.profile; // "bulk"
 * ```
 */
export function loadConfig(args: readonly string[], options: LoadConfigOptions = {}): Config {
  const env = options.env ?? processEnv();
  const readFile = options.readFile ?? ((path: string) => Deno.readTextFileSync(path));
  const parsed = parseArgs(args);
  const errors = [...parsed.errors];
  const configFileFlag = parsed.values.get(CONFIG_FILE_FLAG);
  const configFileEnv = env[CONFIG_FILE_ENV] === "" ? undefined : env[CONFIG_FILE_ENV];
  const configFile = configFileFlag ?? configFileEnv;
  const file = configFile === undefined
    ? new Map<string, RawValue>()
    : readConfigFile(configFile, readFile, errors);
  const values: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const raw = rawValueFor(option, parsed.values, env, file);
    if (raw === undefined) {
      values[option.key] = option.defaultValue;
      continue;
    }
    try {
      values[option.key] = option.parse(raw.text);
    } catch (error) {
      errors.push(`Cannot use ${raw.label}: ${error instanceof Error ? error.message : error}`);
    }
  }
  crossCheck(values, errors);
  if (errors.length > 0) throw new ConfigError(errors);
  return Object.freeze({
    ...(values as unknown as ConfigValues),
    dryRun: parsed.switches.has("--dry-run"),
    help: parsed.switches.has("--help"),
    configFile,
  });
}
