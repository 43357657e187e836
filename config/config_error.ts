/**
 * The error `loadConfig` throws: every problem found, one line each.
 *
 * @module
 */

/**
 * Invalid configuration: `lines` holds one clear line per problem (all of them, not the first).
 *
 * @example
 * ```ts
 * try {
 *   loadConfig(["--port", "x"]);
 * } catch (error) {
 *   if (error instanceof ConfigError) for (const line of error.lines) console.error(line);
 * }
 * ```
 */
export class ConfigError extends Error {
  readonly lines: readonly string[];

  constructor(lines: readonly string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
    this.lines = Object.freeze([...lines]);
  }
}
