/**
 * Splitting command-line arguments into option values and switches, collecting every problem.
 *
 * @module
 */

import { CONFIG_FILE_FLAG, OPTIONS, SWITCHES } from "./options.ts";

/** Arguments after splitting: raw text per flag, the switches given, and every problem. */
export interface ParsedArgs {
  /** Raw text per value flag (e.g. `"--port" -> "8443"`), including `--config`. */
  readonly values: ReadonlyMap<string, string>;
  readonly switches: ReadonlySet<string>;
  readonly errors: readonly string[];
}

/** More arguments than any sensible command line: bounds the parse. */
const ARG_COUNT_MAX = 256;

const VALUE_FLAGS: ReadonlySet<string> = new Set([
  ...OPTIONS.map((option) => option.flag),
  CONFIG_FILE_FLAG,
]);
/** Value flags that may stand alone, with the value that then means. */
const BARE_VALUES: ReadonlyMap<string, string> = new Map(
  OPTIONS.flatMap((option) =>
    option.bareValue === undefined ? [] : [[option.flag, option.bareValue]]
  ),
);
const SWITCH_FLAGS: ReadonlySet<string> = new Set([...Object.keys(SWITCHES), "-h"]);
/** Value flags that may be given more than once (their values are joined with commas). */
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set(
  OPTIONS.filter((option) => option.repeatable === true).map((option) => option.flag),
);

/**
 * Splits `args` (`--flag value`, `--flag=value`, switches) without validating values; a
 * repeatable flag's values are joined with commas.
 *
 * @example
 * ```ts
 * parseArgs(["--port=9000", "--dry-run"]).values.get("--port"); // "9000"
 * ```
 */
export function parseArgs(args: readonly string[]): ParsedArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const errors: string[] = [];
  if (args.length > ARG_COUNT_MAX) {
    return { values, switches, errors: [`Cannot parse ${args.length} arguments: at most 256`] };
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCH_FLAGS.has(flag)) {
      if (eq > 0) errors.push(`Cannot use ${flag}: it takes no value`);
      switches.add(flag === "-h" ? "--help" : flag);
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) {
      errors.push(
        arg.startsWith("-")
          ? `Unknown option ${JSON.stringify(flag.slice(0, 64))} (see --help)`
          : `Unexpected argument ${JSON.stringify(arg.slice(0, 64))}: options start with --`,
      );
      continue;
    }
    let value: string;
    if (eq > 0) {
      value = arg.slice(eq + 1);
    } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
      value = args[++i];
    } else if (BARE_VALUES.has(flag)) {
      value = BARE_VALUES.get(flag)!;
    } else {
      errors.push(`Cannot use ${flag}: it needs a value`);
      continue;
    }
    const held = values.get(flag);
    if (held === undefined) values.set(flag, value);
    else if (REPEATABLE_FLAGS.has(flag)) values.set(flag, `${held},${value}`);
    else errors.push(`Cannot use ${flag} twice`);
  }
  return { values, switches, errors };
}
