/**
 * Emits the TypeScript of one schema file: an interface, a codec (binary read/measure/write
 * and JSON) and a layout constant per struct.
 *
 * @module
 */
import type { FieldModel, FileModel, StructModel } from "./model.ts";

const TEXT_BYTES_UNBOUNDED = 0x7fffffff;
const LIST_LENGTH_UNBOUNDED = 0x1fffffff;

/** What the emitter needs to know about the other files of the request. */
export interface EmitContext {
  readonly structsById: ReadonlyMap<bigint, StructModel>;
  readonly filesById: ReadonlyMap<bigint, FileModel>;
  /** Import specifier of the codec runtime folder from the output folder, e.g. `../capnp/`. */
  readonly runtime: string;
  /**
   * Structs that can contain themselves. A field of such a type is `T | null` (null pointer),
   * because materializing defaults for a null pointer would recurse without end.
   */
  readonly recursiveIds: ReadonlySet<bigint>;
}

/**
 * The structs that can reach themselves through struct or struct-list fields.
 *
 * @example
 * ```ts
 * const recursive = findRecursive(structsById);
 * ```
 */
export function findRecursive(structsById: ReadonlyMap<bigint, StructModel>): Set<bigint> {
  const out = new Set<bigint>();
  for (const start of structsById.keys()) {
    const seen = new Set<bigint>();
    const stack = [start];
    while (stack.length > 0 && !out.has(start)) {
      const s = structsById.get(stack.pop()!);
      for (const f of s?.fields ?? []) {
        const t = f.type;
        if (t.kind !== "struct" && t.kind !== "structList") continue;
        if (t.structId === start) out.add(start);
        if (!seen.has(t.structId)) {
          seen.add(t.structId);
          stack.push(t.structId);
        }
      }
    }
  }
  return out;
}

function isNullable(f: FieldModel, ctx: EmitContext): boolean {
  return f.type.kind === "struct" && ctx.recursiveIds.has(f.type.structId);
}

/** The output file name for a schema file: `worknode.capnp` → `worknode_capnp.ts`. */
export function outputName(filename: string): string {
  const base = filename.slice(filename.lastIndexOf("/") + 1);
  return base.replace(/\.capnp$/, "_capnp.ts");
}

function tsType(f: FieldModel, ctx: EmitContext): string {
  const t = f.type;
  switch (t.kind) {
    case "bool":
      return "boolean";
    case "uint32":
    case "uint64":
    case "int64":
      return "number";
    case "text":
      return "string";
    case "data":
      return "Uint8Array";
    case "textList":
      return "string[]";
    case "struct":
      return ctx.structsById.get(t.structId)!.name + (isNullable(f, ctx) ? " | null" : "");
    case "structList":
      return `${ctx.structsById.get(t.structId)!.name}[]`;
    case "anyPointer":
      return "never";
  }
}

/** True when the generator can emit a codec (no unions, no AnyPointer). */
export function hasCodec(s: StructModel): boolean {
  return s.discriminantCount === 0 && s.fields.every((f) => f.type.kind !== "anyPointer");
}

function dataByteOffset(f: FieldModel): number {
  switch (f.type.kind) {
    case "bool":
      return f.offset >>> 3;
    case "uint32":
      return f.offset * 4;
    default:
      return f.offset * 8;
  }
}

function codecOf(f: FieldModel, ctx: EmitContext): string {
  const t = f.type;
  if (t.kind !== "struct" && t.kind !== "structList") throw new Error("not a struct field");
  return `${ctx.structsById.get(t.structId)!.name}Codec`;
}

function readExpr(s: StructModel, f: FieldModel, ctx: EmitContext): string {
  const text = f.textBytesMax ?? TEXT_BYTES_UNBOUNDED;
  const list = f.listLengthMax ?? LIST_LENGTH_UNBOUNDED;
  const at = `p + ${f.offset * 8}`;
  const ptr = (e: string, empty: string) => `pc > ${f.offset} ? ${e} : ${empty}`;
  const byte = dataByteOffset(f);
  const data = (e: string, empty: string) => `db > ${byte} ? ${e} : ${empty}`;
  switch (f.type.kind) {
    case "bool":
      return data(`(m.u8[d + ${byte}] & ${1 << (f.offset & 7)}) !== 0`, "false");
    case "uint32":
      return data(`m.view.getUint32(d + ${byte}, true)`, "0");
    case "uint64":
      return data(`m.u64(d + ${byte})`, "0");
    case "int64":
      return data(`m.i64(d + ${byte})`, "0");
    case "text":
      return ptr(`m.text(s, ${at}, ${text})`, `""`);
    case "data":
      return ptr(`m.data(s, ${at}, ${list})`, "new Uint8Array(0)");
    case "textList":
      return ptr(`m.textList(s, ${at}, depth, ${list}, ${text})`, "[]");
    case "struct":
      if (isNullable(f, ctx)) {
        return ptr(`m.nullableStructField(s, ${at}, depth, ${codecOf(f, ctx)})`, "null");
      }
      return ptr(
        `m.structField(s, ${at}, depth, ${codecOf(f, ctx)})`,
        `${codecOf(f, ctx)}.readBody(m, s, 0, 0, 0, depth + 1)`,
      );
    case "structList":
      return ptr(`m.structList(s, ${at}, depth, ${list}, ${codecOf(f, ctx)})`, "[]");
    case "anyPointer":
      throw new Error(`Cannot generate ${s.name}.${f.name}: AnyPointer has no codec`);
  }
}

function measureExpr(f: FieldModel, ctx: EmitContext): string | undefined {
  const v = `v.${f.name}`;
  switch (f.type.kind) {
    case "text":
      return `textWords(${v})`;
    case "data":
      return `dataWords(${v})`;
    case "textList":
      return `textListWords(${v})`;
    case "struct": {
      const c = codecOf(f, ctx);
      const words = `${c}.dataWords + ${c}.pointerCount + ${c}.measureChildren(${v})`;
      return isNullable(f, ctx) ? `(${v} === null ? 0 : ${words})` : words;
    }
    case "structList":
      return `structListWords(${codecOf(f, ctx)}, ${v})`;
    default:
      return undefined;
  }
}

function writeStmt(s: StructModel, f: FieldModel, ctx: EmitContext): string {
  const v = `v.${f.name}`;
  const at = `d + ${s.dataWords * 8 + f.offset * 8}`;
  const byte = dataByteOffset(f);
  switch (f.type.kind) {
    case "bool":
      return `if (${v}) w.bytes[d + ${byte}] |= ${1 << (f.offset & 7)};`;
    case "uint32":
      return `w.u32(d + ${byte}, ${v});`;
    case "uint64":
      return `w.u64(d + ${byte}, ${v});`;
    case "int64":
      return `w.i64(d + ${byte}, ${v});`;
    case "text":
      return `w.text(${at}, ${v});`;
    case "data":
      return `w.data(${at}, ${v});`;
    case "textList":
      return `w.textList(${at}, ${v});`;
    case "struct":
      if (isNullable(f, ctx)) {
        return `if (${v} !== null) w.struct(${at}, ${codecOf(f, ctx)}, ${v});`;
      }
      return `w.struct(${at}, ${codecOf(f, ctx)}, ${v});`;
    case "structList":
      return `w.structList(${at}, ${codecOf(f, ctx)}, ${v});`;
    case "anyPointer":
      throw new Error("AnyPointer has no codec");
  }
}

function fromJsonExpr(f: FieldModel, ctx: EmitContext): string {
  const j = `o.${f.name}`;
  const path = `path + ".${f.name}"`;
  const text = f.textBytesMax ?? TEXT_BYTES_UNBOUNDED;
  const list = f.listLengthMax ?? LIST_LENGTH_UNBOUNDED;
  switch (f.type.kind) {
    case "bool":
      return `jsonBool(${j}, ${path})`;
    case "uint32":
      return `jsonUint(${j}, ${path}, 32)`;
    case "uint64":
      return `jsonUint(${j}, ${path}, 64)`;
    case "int64":
      return `jsonInt(${j}, ${path}, 64)`;
    case "text":
      return `jsonText(${j}, ${path}, ${text})`;
    case "data":
      return `jsonData(${j}, ${path})`;
    case "textList":
      return `jsonList(${j}, ${path}, { lengthMax: ${list}, element: (e, ep) => jsonText(e, ep, ${text}) })`;
    case "struct":
      if (isNullable(f, ctx)) {
        return `${j} == null ? null : ${codecOf(f, ctx)}.fromJson(${j}, ${path})`;
      }
      return `${codecOf(f, ctx)}.fromJson(${j} === undefined ? {} : ${j}, ${path})`;
    case "structList":
      return `jsonList(${j}, ${path}, { lengthMax: ${list}, element: (e, ep) => ${
        codecOf(f, ctx)
      }.fromJson(e, ep) })`;
    case "anyPointer":
      throw new Error("AnyPointer has no codec");
  }
}

function toJsonExpr(f: FieldModel, ctx: EmitContext): string {
  const v = `v.${f.name}`;
  switch (f.type.kind) {
    case "data":
      return `dataToJson(${v})`;
    case "struct":
      if (isNullable(f, ctx)) return `${v} === null ? null : ${codecOf(f, ctx)}.toJson(${v})`;
      return `${codecOf(f, ctx)}.toJson(${v})`;
    case "structList":
      return `${v}.map((e) => ${codecOf(f, ctx)}.toJson(e))`;
    case "textList":
      return `${v}.slice()`;
    default:
      return v;
  }
}

function emitLayout(s: StructModel): string {
  const fields = s.fields.map((f) => {
    const isPointer = !["bool", "uint32", "uint64", "int64"].includes(f.type.kind);
    const slot = isPointer ? `pointerIndex: ${f.offset}` : `byteOffset: ${dataByteOffset(f)}`;
    const disc = f.discriminant >= 0 ? `, discriminant: ${f.discriminant}` : "";
    return `${f.name}: { ${slot}${disc} },`;
  });
  const disc = s.discriminantCount > 0
    ? `\n  discriminantByteOffset: ${s.discriminantByteOffset},`
    : "";
  return `/** Wire layout of ${s.name}. */
export const ${s.name}Layout = {
  dataWords: ${s.dataWords},
  pointerCount: ${s.pointerCount},${disc}
  fields: { ${fields.join("\n")} },
} as const;
`;
}

function emitCodec(s: StructModel, ctx: EmitContext): string {
  const n = s.name;
  if (s.fields.length === 0) {
    // Every empty struct has the same codec: one shared runtime helper, not a copy per struct.
    return `/** ${n} (schema struct, no fields). */
export type ${n} = Record<string, never>;

/** Binary and JSON codec of ${n}. */
export const ${n}Codec: StructCodec<${n}> = emptyStructCodec("${n}");
`;
  }
  const iface = s.fields.map((f) => `  ${f.name}: ${tsType(f, ctx)};`).join("\n");
  const reads = s.fields.map((f) => `    ${f.name}: ${readExpr(s, f, ctx)},`).join("\n");
  const measures = s.fields.map((f) => measureExpr(f, ctx)).filter((e) => e !== undefined);
  const writes = s.fields.map((f) => `    ${writeStmt(s, f, ctx)}`).join("\n");
  const fromJson = s.fields.map((f) => `      ${f.name}: ${fromJsonExpr(f, ctx)},`).join("\n");
  const toJson = s.fields.map((f) => `      ${f.name}: ${toJsonExpr(f, ctx)},`).join("\n");
  const keys = s.fields.map((f) => JSON.stringify(f.name)).join(", ");
  const usesP = s.fields.some((f) => readExpr(s, f, ctx).includes("p +"));
  const bodyText = (usesP ? "d db " : "") + reads;
  const used = (name: string) => new RegExp(`\\b${name}\\b`).test(bodyText) ? name : `_${name}`;
  return `/** ${n} (schema struct). */
export interface ${n} {
${iface}
}

const ${n}Keys: readonly string[] = [${keys}];

function read${n}(
  ${used("m")}: MessageReader,
  ${used("s")}: number,
  ${used("d")}: number,
  ${used("db")}: number,
  ${used("pc")}: number,
  ${used("depth")}: number,
): ${n} {
  ${usesP ? `const p = d + db;` : ""}
  return {
${reads}
  };
}

/** Binary and JSON codec of ${n}. */
export const ${n}Codec: StructCodec<${n}> = {
  typeName: "${n}",
  dataWords: ${s.dataWords},
  pointerCount: ${s.pointerCount},
  readBody: read${n},
  measureChildren(${measures.length > 0 ? "v" : "_v"}: ${n}): number {
    return ${measures.length > 0 ? measures.join(" + ") : "0"};
  },
  writeBody(w: MessageWriter, v: ${n}, d: number): void {
${writes}
  },
  fromJson(value: unknown, path = "${n}"): ${n} {
    const o = jsonObject(value, path, ${n}Keys);
    return {
${fromJson}
    };
  },
  toJson(v: ${n}): unknown {
    return {
${toJson}
    };
  },
};
`;
}

/**
 * The TypeScript source of one schema file (before `deno fmt`).
 *
 * @example
 * ```ts
 * const source = emitFile(files[0], ctx);
 * ```
 */
export function emitFile(file: FileModel, ctx: EmitContext): string {
  const parts: string[] = [];
  const imported = new Set<bigint>();
  for (const s of file.structs) {
    for (const f of s.fields) {
      const t = f.type;
      if (t.kind !== "struct" && t.kind !== "structList") continue;
      const target = ctx.structsById.get(t.structId);
      if (!target) throw new Error(`Cannot generate ${s.name}.${f.name}: unknown struct`);
      if (target.fileId !== file.id) imported.add(target.id);
    }
    parts.push(hasCodec(s) ? emitCodec(s, ctx) + "\n" + emitLayout(s) : emitLayout(s));
  }
  const body = parts.join("\n");
  const runtimeNames = [
    "dataToJson",
    "dataWords",
    "emptyStructCodec",
    "jsonBool",
    "jsonData",
    "jsonInt",
    "jsonList",
    "jsonObject",
    "jsonText",
    "jsonUint",
    "structListWords",
    "textListWords",
    "textWords",
  ].filter((name) => new RegExp(`\\b${name}\\(`).test(body));
  const head = [
    `// Generated by capnp/gen/generate.ts from ${file.filename}. Do not edit: run \`deno task schema\`.`,
    `/**\n * Codecs generated from ${file.filename}.\n *\n * @module\n */`,
  ];
  if (file.structs.some(hasCodec)) {
    const typeNames = ["MessageReader", "MessageWriter", "StructCodec"]
      .filter((name) => new RegExp(`\\b${name}\\b`).test(body));
    head.push(
      `import type { ${typeNames.join(", ")} } from "${ctx.runtime}codec_runtime.ts";`,
    );
    if (runtimeNames.length > 0) {
      head.push(`import { ${runtimeNames.join(", ")} } from "${ctx.runtime}codec_runtime.ts";`);
    }
  }
  const byFile = new Map<bigint, string[]>();
  for (const id of [...imported].sort()) {
    const target = ctx.structsById.get(id)!;
    const list = byFile.get(target.fileId) ?? [];
    list.push(`type ${target.name}`, `${target.name}Codec`);
    byFile.set(target.fileId, list);
  }
  for (const [fileId, names] of byFile) {
    const from = outputName(ctx.filesById.get(fileId)!.filename);
    head.push(`import { ${names.join(", ")} } from "./${from}";`);
  }
  return head.join("\n") + "\n\n" + body;
}
