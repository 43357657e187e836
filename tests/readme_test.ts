/** README.md stays accurate: its first two lines and its configuration table. */
import assert from "@std/assert";
import { CONFIG_FILE_ENV, OPTIONS } from "../config/options.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

Deno.test("README starts with the two commands", () => {
  assert.deepEqual(README.split("\n").slice(0, 2), [
    "./run start        # start the service on its embedded defaults (installs Deno 2.9.6 from npm if missing)",
    "./run test         # run every test suite (installs Deno, and Debian packages when run as root)",
  ]);
});

Deno.test("README's table has a row per option with its env variable, default and file key", () => {
  const rows = README.split("\n").filter((line) => line.startsWith("| `--"));
  for (const option of OPTIONS) {
    const row = rows.find((line) => line.startsWith(`| \`${option.flag} `));
    if (row === undefined) throw new Error(`README has no row for ${option.flag}`);
    const cells = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
    assert.equal(cells[2], `\`${option.env}\``, option.flag);
    assert.equal(cells[3], option.defaultText.split(" (")[0], option.flag);
    assert.equal(cells[4], `\`${option.key}\``, option.flag);
  }
  assert.ok(rows.some((row) => row.includes(CONFIG_FILE_ENV)));
});
