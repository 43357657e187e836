/**
 * The layout rules CI enforces (docs/design.md, "Layout"): no import cycle between the
 * project's modules, and no hand-written function longer than FUNCTION_LINES_MAX lines.
 * Generated code (schema/*_capnp.ts, capnp/testdata/*_capnp.ts) is exempt from the length rule.
 *
 * Run: `deno run --allow-read scripts/check_structure.ts` — prints every finding and exits 1
 * when there is one, else prints a one-line summary.
 *
 * @module
 */

import ts from "typescript";

/** The longest function body allowed, in lines (the style guide's limit). */
export const FUNCTION_LINES_MAX = 70;

const SKIPPED_DIRS = new Set([
  "node_modules",
  ".tools",
  ".git",
  "native",
  "data",
  ".test-artifacts",
]);
const GENERATED = /(^|\/)(schema|capnp\/testdata)\/[^/]+_capnp\.ts$/;

/** Every .ts file under `root`, relative paths. */
export function sourceFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(`${root}/${dir}`)) {
    const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...sourceFiles(root, path));
    } else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** A function that is too long: where it is and how long. */
export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name !== undefined) return named.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent)) return `callback of ${parent.expression.getText(source)}`;
  return "(anonymous)";
}

/** The functions of one file whose body is longer than FUNCTION_LINES_MAX lines. */
export function longFunctions(file: string, text: string): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const body = (node as ts.FunctionLikeDeclaration).body!;
      const first = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(body.getEnd()).line;
      const lines = last - first + 1;
      if (lines > FUNCTION_LINES_MAX) {
        found.push({ file, line: first + 1, name: nameOf(node, source), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The project-relative modules `file` imports (relative specifiers only). */
export function importsOf(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  for (const statement of source.statements) {
    const specifier = (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))
      ? statement.moduleSpecifier
      : undefined;
    if (specifier === undefined || !ts.isStringLiteral(specifier)) continue;
    // A type-only import is erased, but a cycle of types still ties two modules together.
    if (!specifier.text.startsWith(".")) continue;
    out.push(normalize(dir === "" ? specifier.text : `${dir}/${specifier.text}`));
  }
  return out;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "." || part === "") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/** The import cycles of a graph (Tarjan's strongly connected components of size > 1). */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string): void => {
    indexes.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexes.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexes.get(next)!));
    }
    if (low.get(node) !== indexes.get(node)) return;
    const component: string[] = [];
    for (let top = stack.pop()!;; top = stack.pop()!) {
      onStack.delete(top);
      component.push(top);
      if (top === node) break;
    }
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!indexes.has(node)) connect(node);
  return cycles;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const graph = new Map<string, string[]>();
  const long: LongFunction[] = [];
  for (const file of sourceFiles(root)) {
    const text = Deno.readTextFileSync(`${root}/${file}`);
    graph.set(file, importsOf(file, text));
    if (!GENERATED.test(file)) long.push(...longFunctions(file, text));
  }
  const cycles = importCycles(graph);
  for (const cycle of cycles) console.log(`import cycle: ${cycle.join(" <-> ")}`);
  for (const f of long) {
    console.log(`${f.file}:${f.line}: ${f.name} is ${f.lines} lines (max ${FUNCTION_LINES_MAX})`);
  }
  console.log(
    `${graph.size} modules, ${cycles.length} import cycles, ${long.length} functions over ` +
      `${FUNCTION_LINES_MAX} lines`,
  );
  if (cycles.length > 0 || long.length > 0) Deno.exit(1);
}
