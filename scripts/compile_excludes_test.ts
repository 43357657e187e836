import assert from "@std/assert";
import { excludedPaths, reachablePackages } from "./compile_excludes.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;

Deno.test("reachablePackages follows dependencies from the graph's npm modules only", () => {
  const info = {
    modules: [{ kind: "esm" }, { kind: "npm", npmPackage: "a@1.0.0" }],
    npmPackages: {
      "a@1.0.0": { dependencies: ["b@2.0.0"] },
      "b@2.0.0": { dependencies: ["a@1.0.0"] },
      "c@3.0.0": { dependencies: [] },
    },
  };
  assert.deepEqual([...reachablePackages(info)].sort(), ["a@1.0.0", "b@2.0.0"]);
});

Deno.test("excludedPaths names the unreached packages of a node_modules tree", () => {
  const dir = Deno.makeTempDirSync({ prefix: "compile-excludes-" });
  try {
    for (const pkg of ["keep@1.0.0", "@scope+drop@2.0.0", "tool@3.0.0"]) {
      Deno.mkdirSync(`${dir}/.deno/${pkg}`, { recursive: true });
    }
    Deno.mkdirSync(`${dir}/@scope`);
    Deno.symlinkSync(".deno/tool@3.0.0", `${dir}/tool`);
    Deno.symlinkSync("../.deno/@scope+drop@2.0.0", `${dir}/@scope/drop`);
    const info = {
      modules: [{ kind: "npm", npmPackage: "keep@1.0.0" }],
      npmPackages: {
        "keep@1.0.0": { dependencies: [] },
        "@scope/drop@2.0.0": { dependencies: [] },
        "tool@3.0.0_keep@1.0.0": { dependencies: ["keep@1.0.0"] },
      },
    };
    assert.deepEqual(excludedPaths(info, dir), [
      `${dir}/.deno/@scope+drop@2.0.0`,
      `${dir}/.deno/tool@3.0.0`,
      `${dir}/@scope/drop`,
      `${dir}/tool`,
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main.ts keeps its npm imports and drops the test and build tools", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-run",
      "--allow-read",
      "scripts/compile_excludes.ts",
      "main.ts",
    ],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const excluded = new Set(new TextDecoder().decode(output.stdout).trim().split("\n"));
  // Every installed package is excluded unless main.ts imports it (whatever else is installed);
  // `used` lists main.ts's npm imports: add one here when the service starts importing it.
  const used = ["hono@", "postgres@", "@opentelemetry+api@"];
  const installed = [...Deno.readDirSync(`${REPO_ROOT}node_modules/.deno`)]
    .filter((entry) => entry.isDirectory && entry.name !== "node_modules")
    .map((entry) => entry.name);
  assert.ok(installed.some((name) => name.startsWith("hono@")), `${installed}`);
  for (const name of installed) {
    const isUsed = used.some((prefix) => name.startsWith(prefix));
    assert.equal(excluded.has(`node_modules/.deno/${name}`), !isUsed, name);
  }
});
