/**
 * The command-line face of `config/` for `main.ts`: `--help`, or a valid config, or every
 * problem on stderr and exit status 2.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import { helpText } from "./help.ts";
import { type Config, loadConfig, type LoadConfigOptions } from "./load.ts";

/** The exit status for bad configuration (and impossible budgets), as for usage errors. */
export const EXIT_CODE_USAGE = 2;

/**
 * Loads the config for a command line. Prints the help and exits 0 on `--help`; prints every
 * problem, one line each, on stderr and exits 2 on invalid configuration.
 *
 * @example
 * ```ts
 * const config = loadConfigOrExit(Deno.args);
 * ```
 */
export function loadConfigOrExit(
  args: readonly string[],
  options: LoadConfigOptions = {},
): Config {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText());
    Deno.exit(0);
  }
  try {
    return loadConfig(args, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const line of error.lines) console.error(line);
    Deno.exit(EXIT_CODE_USAGE);
  }
}
