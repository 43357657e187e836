import assert from "@std/assert";
import { findRecursive, outputName } from "./emit.ts";
import type { StructModel } from "./model.ts";

const GENERATOR = new URL("./generate.ts", import.meta.url).pathname;

function struct(id: bigint, refs: bigint[]): StructModel {
  return {
    id,
    name: `S${id}`,
    fileId: 1n,
    dataWords: 0,
    pointerCount: refs.length,
    discriminantCount: 0,
    discriminantByteOffset: 0,
    fields: refs.map((structId, i) => ({
      name: `f${i}`,
      type: i % 2 === 0 ? { kind: "struct" as const, structId } : { kind: "structList", structId },
      offset: i,
      discriminant: -1,
      textBytesMax: undefined,
      listLengthMax: undefined,
    })),
  };
}

Deno.test("output names follow the schema file name", () => {
  assert.equal(outputName("schema/worknode.capnp"), "worknode_capnp.ts");
  assert.equal(outputName("nest.capnp"), "nest_capnp.ts");
});

Deno.test("recursive structs are found through struct and list fields", () => {
  const structs = new Map([
    [1n, struct(1n, [2n])],
    [2n, struct(2n, [3n, 1n])],
    [3n, struct(3n, [])],
    [4n, struct(4n, [4n])],
  ]);
  assert.deepEqual([...findRecursive(structs)].sort(), [1n, 2n, 4n]);
});

Deno.test("the generator refuses what the codec cannot represent, naming the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.capnp`,
      "@0xd3c8a4b5e0f1a2ff;\nstruct Bad {\n  ratio @0 :Float32;\n}\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", GENERATOR, "--out", dir, `${dir}/bad.capnp`],
      stderr: "piped",
      stdout: "piped",
    }).output();
    assert.equal(out.success, false);
    assert.match(new TextDecoder().decode(out.stderr), /Cannot generate Bad\.ratio: type 10/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
