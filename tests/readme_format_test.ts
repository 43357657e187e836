/**
 * README.md is `deno fmt` clean below its first two lines. Those two lines are the start and test
 * commands, kept byte for byte (tests/readme_test.ts) with their aligned comments; Markdown
 * formatting would collapse the spaces, so README.md stays in deno.json's `fmt.exclude` and this
 * test checks the rest with the repository's own formatting options.
 */

import assert from "@std/assert";

const REPO_ROOT = new URL("..", import.meta.url).pathname;

Deno.test("README.md below its two command lines passes deno fmt --check", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}README.md`);
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const body = readme.split("\n").slice(3).join("\n");
  assert.match(body, /^# /, "the title follows the two command lines and a blank line");
  const dir = await Deno.makeTempDir({ prefix: "readme-fmt-" });
  try {
    const { exclude: _exclude, ...options } = denoJson.fmt ?? {};
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ fmt: options }));
    await Deno.writeTextFile(`${dir}/README.md`, body);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--check", "README.md"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
