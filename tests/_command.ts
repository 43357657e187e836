/**
 * Runs a command to its end for a test: stdin closed, no colours, stdout and stderr as text.
 *
 * @module
 */

/** What a finished command left: its status code and its whole output. */
export interface CommandOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` with `args` in `options.cwd` (default: the repository root) until it exits.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCommand(Deno.execPath(), ["--version"]);
 * ```
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: Record<string, string> } = {},
): Promise<CommandOutput> {
  const output = await new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd ?? new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
