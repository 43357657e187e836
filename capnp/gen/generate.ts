/**
 * `deno task schema`: compiles `schema/*.capnp` with Debian's capnp (`capnp compile -o-`
 * hands a CodeGeneratorRequest to stdout) and writes `<name>_capnp.ts` codecs, formatted.
 *
 * Usage: `deno run -A capnp/gen/generate.ts [--out DIR] [--runtime SPEC] FILE.capnp...`
 *
 * @module
 */
import { emitFile, findRecursive, outputName } from "./emit.ts";
import { type FileModel, readRequest, type StructModel } from "./model.ts";

interface Options {
  readonly outDir: string;
  readonly runtime: string;
  readonly files: readonly string[];
}

function parseArgs(args: readonly string[]): Options {
  let outDir = "schema";
  let runtime = "../capnp/";
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--out") outDir = args[++i] ?? "";
    else if (arg === "--runtime") runtime = args[++i] ?? "";
    else if (arg.startsWith("--")) throw new TypeError(`Cannot generate: unknown flag ${arg}`);
    else files.push(arg);
  }
  if (files.length === 0 || outDir === "" || runtime === "") {
    throw new TypeError("Usage: generate.ts [--out DIR] [--runtime SPEC] FILE.capnp...");
  }
  return { outDir, runtime, files };
}

async function compile(files: readonly string[]): Promise<Uint8Array> {
  const dirs = [...new Set(files.map((f) => f.slice(0, Math.max(0, f.lastIndexOf("/")))))];
  const args = ["compile", "-o-", ...dirs.map((d) => `--src-prefix=${d}`), ...files];
  const out = await new Deno.Command("capnp", { args, stderr: "inherit" }).output();
  if (!out.success) throw new Error(`Cannot generate: capnp ${args.join(" ")} failed`);
  return out.stdout;
}

async function main(): Promise<void> {
  const options = parseArgs(Deno.args);
  const files: FileModel[] = readRequest(await compile(options.files));
  const structsById = new Map<bigint, StructModel>();
  const filesById = new Map<bigint, FileModel>();
  for (const file of files) {
    filesById.set(file.id, file);
    for (const s of file.structs) structsById.set(s.id, s);
  }
  const recursiveIds = findRecursive(structsById);
  const ctx = { structsById, filesById, runtime: options.runtime, recursiveIds };
  const written: string[] = [];
  await Deno.mkdir(options.outDir, { recursive: true });
  for (const file of [...files].sort((a, b) => a.filename.localeCompare(b.filename))) {
    if (file.structs.length === 0) continue;
    const path = `${options.outDir}/${outputName(file.filename)}`;
    await Deno.writeTextFile(path, emitFile(file, ctx));
    written.push(path);
  }
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--no-config", "--line-width=100", ...written],
  }).output();
  if (!fmt.success) throw new Error(`Cannot format: ${new TextDecoder().decode(fmt.stderr)}`);
  for (const path of written) console.log(`wrote ${path}`);
}

if (import.meta.main) await main();
