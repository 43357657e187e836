/**
 * Prints the `--exclude` paths for `deno compile` (scripts/compile.sh), one a line: every npm
 * package in `node_modules/` that the entry point's module graph does not reach.
 *
 * With a local `node_modules/` directory, `deno compile` embeds all of it, test and build tools
 * included (typescript and playwright-core are ~37 MB of the ~40 MB). The graph of `main.ts`, as
 * `deno info --json` reports it, names the packages the service imports; their dependencies are
 * kept too, and everything else is excluded.
 *
 * Usage: `deno run --allow-run --allow-read scripts/compile_excludes.ts main.ts`
 *
 * @module
 */

/** Bounds the walk over a package's dependencies. */
const PACKAGE_COUNT_MAX = 10_000;

interface DenoInfo {
  readonly modules: readonly { readonly kind?: string; readonly npmPackage?: string }[];
  readonly npmPackages: Record<string, { readonly dependencies: readonly string[] }>;
}

/**
 * The npm package ids (`name@version`, as `deno info` keys them) that the graph in `info` imports,
 * with their dependencies.
 *
 * @example
 * ```ts
 * reachablePackages(info); // Set { "hono@4.13.19", "postgres@3.4.9", ... }
 * ```
 */
export function reachablePackages(info: DenoInfo): Set<string> {
  const reached = new Set<string>();
  const pending = info.modules.flatMap((m) =>
    m.kind === "npm" && m.npmPackage ? [m.npmPackage] : []
  );
  while (pending.length > 0) {
    if (reached.size > PACKAGE_COUNT_MAX) {
      throw new RangeError(`Cannot list packages: more than ${PACKAGE_COUNT_MAX} reached`);
    }
    const id = pending.pop()!;
    if (reached.has(id)) continue;
    reached.add(id);
    pending.push(...(info.npmPackages[id]?.dependencies ?? []));
  }
  return reached;
}

/** `name@version` (without a peer-dependency suffix) as Deno names its directory in `.deno/`. */
function denoDirName(id: string): string {
  return id.split("_")[0].replaceAll("/", "+");
}

/**
 * The paths under `node_modules/` to exclude: each unreached package's `.deno/` directory and
 * its top-level link.
 *
 * @example
 * ```ts
 * excludedPaths(info, "node_modules"); // ["node_modules/.deno/typescript@5.9.3", ...]
 * ```
 */
export function excludedPaths(info: DenoInfo, nodeModules: string): string[] {
  const keep = new Set([...reachablePackages(info)].map(denoDirName));
  const paths: string[] = [];
  for (const id of Object.keys(info.npmPackages)) {
    const dir = denoDirName(id);
    if (keep.has(dir)) continue;
    const name = dir.slice(0, dir.lastIndexOf("@")).replace("+", "/");
    for (const path of [`${nodeModules}/.deno/${dir}`, `${nodeModules}/${name}`]) {
      if (!paths.includes(path) && exists(path)) paths.push(path);
    }
  }
  return paths.sort();
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const entry = Deno.args[0] ?? "main.ts";
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) Deno.exit(1);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as DenoInfo;
  for (const path of excludedPaths(info, "node_modules")) console.log(path);
}
