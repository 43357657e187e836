import assert from "@std/assert";
import { helpText } from "./help.ts";
import { CONFIG_FILE_ENV, OPTIONS } from "./options.ts";

Deno.test("--help lists every option with its default, env variable and file key", () => {
  const text = helpText();
  for (const option of OPTIONS) {
    const line = text.split("\n").findIndex((l) => l.startsWith(`  ${option.flag} `));
    assert.ok(line >= 0, `${option.flag} is listed`);
    const detail = text.split("\n")[line + 1];
    assert.ok(detail.includes(`default: ${option.defaultText};`), `${option.flag} default`);
    assert.ok(detail.includes(`env ${option.env};`), `${option.flag} env`);
    assert.ok(detail.includes(`file key "${option.key}"`), `${option.flag} file key`);
  }
  for (const word of ["--config FILE", CONFIG_FILE_ENV, "--dry-run", "--help"]) {
    assert.ok(text.includes(word), word);
  }
  assert.ok(text.includes("default: 8443; env WORKNODE_PORT"));
});

Deno.test("every option has a distinct flag, env variable and key", () => {
  for (const field of ["flag", "env", "key"] as const) {
    const names = OPTIONS.map((option) => option[field]);
    assert.equal(new Set(names).size, names.length, field);
  }
  for (const option of OPTIONS) {
    const envFromFlag = "WORKNODE_" + option.flag.slice(2).replaceAll("-", "_").toUpperCase();
    assert.equal(option.env, envFromFlag, "env variables follow the flag names");
  }
});
