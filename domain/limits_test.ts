import assert from "@std/assert";
import { RpcError } from "../errors/rpc_error.ts";
import {
  utf8ByteLength,
  validateKey,
  validateName,
  validateProperties,
  validateRemovedKeys,
  validateValue,
  validateVersion,
} from "./limits.ts";

function throwsInvalid(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    if (!(error instanceof RpcError)) return false;
    assert.equal(error.code, "invalid_argument");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("utf8ByteLength matches TextEncoder, surrogate pairs and lone surrogates included", () => {
  const samples = ["", "a", "é", "€", "😀", "a😀b", "\ud800", "x\udc00y", "ü".repeat(300)];
  for (const text of samples) {
    assert.equal(utf8ByteLength(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});

Deno.test("validateKey accepts 256 bytes of UTF-8 and refuses 257 or empty", () => {
  validateKey("k".repeat(256));
  validateKey("é".repeat(128));
  throwsInvalid(() => validateKey("k".repeat(257)), /257 bytes of UTF-8 exceeds 256/);
  throwsInvalid(() => validateKey("é".repeat(128) + "x"), /257 bytes of UTF-8 exceeds 256/);
  throwsInvalid(() => validateKey(""), /empty/);
});

Deno.test("validateValue accepts 8192 bytes of UTF-8 and refuses 8193", () => {
  validateValue("", "k");
  validateValue("v".repeat(8192), "k");
  validateValue("😀".repeat(2048), "k");
  throwsInvalid(() => validateValue("😀".repeat(2048) + "v", "k"), /8193 bytes.*exceeds 8192/);
  throwsInvalid(() => validateValue("v".repeat(9000), "k"), /at least 9000 bytes/);
});

Deno.test("validateProperties refuses duplicates and too many, naming the key", () => {
  const keys = validateProperties([{ key: "a", value: "1" }, { key: "b", value: "2" }], {
    what: "properties",
    countMax: 2,
  });
  assert.deepEqual([...keys], ["a", "b"]);
  throwsInvalid(
    () =>
      validateProperties([{ key: "a", value: "1" }, { key: "a", value: "2" }], {
        what: "properties",
        countMax: 4,
      }),
    /key "a" appears twice/,
  );
  throwsInvalid(
    () =>
      validateProperties(Array.from({ length: 3 }, (_, i) => ({ key: `${i}`, value: "" })), {
        what: "overlap properties",
        countMax: 2,
      }),
    /overlap properties: 3 properties exceed 2/,
  );
});

Deno.test("validateRemovedKeys refuses a key removed twice or also set", () => {
  validateRemovedKeys(["a", "b"], new Set(["c"]));
  throwsInvalid(() => validateRemovedKeys(["a", "a"], new Set()), /"a" appears twice/);
  throwsInvalid(() => validateRemovedKeys(["c"], new Set(["c"])), /also set/);
});

Deno.test("validateName and validateVersion", () => {
  validateName("id", "w-1.a_b:c@d");
  throwsInvalid(() => validateName("id", "a/b"), /only A-Z/);
  validateName("kind", "k".repeat(256));
  throwsInvalid(() => validateName("kind", "k".repeat(257)), /length 257 exceeds 256/);
  validateVersion("expectedVersion", 1);
  throwsInvalid(() => validateVersion("expectedVersion", 0), /not an integer >= 1/);
  throwsInvalid(() => validateVersion("expectedVersion", 2 ** 53), /not an integer >= 1/);
});
