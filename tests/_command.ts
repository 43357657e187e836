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

/**
 * Runs `command` with `input` on its stdin and answers its stdout; a failure throws with its
 * stderr.
 *
 * @example
 * ```ts
 * const der = await pipeThroughCommand("openssl", ["pkey", "-pubin", "-outform", "DER"], pem);
 * ```
 */
export async function pipeThroughCommand(
  command: string,
  args: readonly string[],
  input: Uint8Array,
): Promise<Uint8Array<ArrayBuffer>> {
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`Cannot run ${command} ${args.join(" ")}: exit ${out.code}: ${stderr}`);
  }
  return out.stdout;
}
