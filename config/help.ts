/**
 * The `--help` text, generated from the option table so it lists every option.
 *
 * @module
 */

import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, OPTIONS, SWITCHES } from "./options.ts";

/** One help entry: the flag with its value, what it does, and its default/env/file key. */
type HelpRow = readonly [left: string, description: string, detail: string];

function helpRows(): HelpRow[] {
  const rows: HelpRow[] = OPTIONS.map((option) => [
    `${option.flag} ${option.valueName}`,
    option.description,
    `default: ${option.defaultText}; env ${option.env}; file key "${option.key}"`,
  ]);
  rows.push([
    `${CONFIG_FILE_FLAG} FILE`,
    "JSON config file: an object keyed by the file keys above",
    `default: none; env ${CONFIG_FILE_ENV}`,
  ]);
  for (const [flag, description] of Object.entries(SWITCHES)) rows.push([flag, description, ""]);
  return rows;
}

/**
 * Returns the help text: usage, then every option with its value, default, environment
 * variable and config-file key, then the precedence rule.
 *
 * @example
 * ```ts
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  const rows = helpRows();
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const indent = " ".repeat(width + 2);
  const lines = [
    "worknode: edge RPC service (Cap'n Proto and JSON over HTTP/3, HTTP/2, HTTP/1.1)",
    "",
    "Usage: deno task start [OPTIONS]      (or ./run start [OPTIONS])",
    "",
    "Options (flags override environment variables, which override the config file):",
    ...rows.flatMap(([left, description, detail]) => [
      `  ${left.padEnd(width)}${description}`,
      ...(detail === "" ? [] : [`${indent}(${detail})`]),
    ]),
    "",
    "Invalid values are all reported, one line each, and the exit status is 2.",
  ];
  return lines.join("\n");
}
