/**
 * The plain model the generator emits from: structs and fields taken out of capnp's
 * CodeGeneratorRequest (read with capnp-es at build time only).
 *
 * @module
 */
import * as capnp from "capnp-es";
import { CodeGeneratorRequest, type Field, type Node, type Type } from "capnp-es/capnp/schema";

/** Field types the codec generator supports. */
export type FieldType =
  | { kind: "bool" | "uint32" | "uint64" | "int64" | "text" | "data" | "anyPointer" }
  | { kind: "struct"; structId: bigint }
  | { kind: "structList"; structId: bigint }
  | { kind: "textList" };

/** One field of a struct, with its slot (bit/byte offset or pointer index). */
export interface FieldModel {
  readonly name: string;
  readonly type: FieldType;
  /** Slot offset in units of the field's size (capnp's `slot.offset`). */
  readonly offset: number;
  /** Discriminant value inside the struct's union, or -1 when not in a union. */
  readonly discriminant: number;
  readonly textBytesMax: number | undefined;
  readonly listLengthMax: number | undefined;
}

/** One struct of a schema file. */
export interface StructModel {
  readonly id: bigint;
  readonly name: string;
  readonly fileId: bigint;
  readonly dataWords: number;
  readonly pointerCount: number;
  readonly discriminantCount: number;
  /** Byte offset of the union discriminant (UInt16), when there is a union. */
  readonly discriminantByteOffset: number;
  readonly fields: readonly FieldModel[];
}

/** A requested schema file and its structs in declaration order. */
export interface FileModel {
  readonly id: bigint;
  /** File name as given to capnp, e.g. `schema/worknode.capnp`. */
  readonly filename: string;
  readonly structs: readonly StructModel[];
}

const TYPE = {
  bool: 1,
  int64: 5,
  uint32: 8,
  uint64: 9,
  text: 12,
  data: 13,
  list: 14,
  struct: 16,
  anyPointer: 18,
} as const;
const ANNOTATION_NAMES = ["textBytesMax", "listLengthMax"] as const;

function fieldType(type: Type, where: string): FieldType {
  switch (type.which()) {
    case TYPE.bool:
      return { kind: "bool" };
    case TYPE.int64:
      return { kind: "int64" };
    case TYPE.uint32:
      return { kind: "uint32" };
    case TYPE.uint64:
      return { kind: "uint64" };
    case TYPE.text:
      return { kind: "text" };
    case TYPE.data:
      return { kind: "data" };
    case TYPE.struct:
      return { kind: "struct", structId: type.struct.typeId };
    case TYPE.anyPointer:
      return { kind: "anyPointer" };
    case TYPE.list: {
      const element = type.list.elementType;
      if (element.which() === TYPE.struct) {
        return { kind: "structList", structId: element.struct.typeId };
      }
      if (element.which() === TYPE.text) return { kind: "textList" };
      break;
    }
  }
  throw new Error(`Cannot generate ${where}: type ${type.which()} is not supported`);
}

function fieldModel(
  field: Field,
  where: string,
  annotationIds: Map<bigint, string>,
): FieldModel {
  if (!field._isSlot) throw new Error(`Cannot generate ${where}: groups are not supported`);
  if (field.slot.hadExplicitDefault) {
    throw new Error(`Cannot generate ${where}: explicit defaults are not supported`);
  }
  const limits: Record<string, number> = {};
  for (const annotation of field.annotations) {
    const name = annotationIds.get(annotation.id);
    if (name !== undefined) limits[name] = annotation.value.uint32;
  }
  return {
    name: field.name,
    type: fieldType(field.slot.type, where),
    offset: field.slot.offset,
    discriminant: field.discriminantValue === 0xffff ? -1 : field.discriminantValue,
    textBytesMax: limits.textBytesMax,
    listLengthMax: limits.listLengthMax,
  };
}

function structModel(node: Node, annotationIds: Map<bigint, string>): StructModel {
  const name = node.displayName.slice(node.displayNamePrefixLength);
  const s = node.struct;
  const fields = [...s.fields]
    .sort((a, b) => a.codeOrder - b.codeOrder)
    .map((f) => fieldModel(f, `${name}.${f.name}`, annotationIds));
  return {
    id: node.id,
    name,
    fileId: node.scopeId,
    dataWords: s.dataWordCount,
    pointerCount: s.pointerCount,
    discriminantCount: s.discriminantCount,
    discriminantByteOffset: s.discriminantOffset * 2,
    fields,
  };
}

/**
 * Reads a binary CodeGeneratorRequest (from `capnp compile -o-`) into file models.
 *
 * @example
 * ```ts
 * const files = readRequest(await Deno.readFile("request.bin"));
 * ```
 */
export function readRequest(bytes: Uint8Array): FileModel[] {
  const copy = bytes.slice().buffer;
  const request = new capnp.Message(copy, false).getRoot(CodeGeneratorRequest);
  const nodes = new Map<bigint, Node>();
  const annotationIds = new Map<bigint, string>();
  for (const node of request.nodes) {
    nodes.set(node.id, node);
    const name = node.displayName.slice(node.displayNamePrefixLength);
    const known = ANNOTATION_NAMES.find((n) => n === name);
    if (node._isAnnotation && known) annotationIds.set(node.id, known);
  }
  const files: FileModel[] = [];
  for (const requested of request.requestedFiles) {
    const fileNode = nodes.get(requested.id);
    if (!fileNode) throw new Error(`Cannot generate ${requested.filename}: file node missing`);
    const structs: StructModel[] = [];
    for (const nested of fileNode.nestedNodes) {
      const node = nodes.get(nested.id);
      if (node?._isStruct) structs.push(structModel(node, annotationIds));
    }
    files.push({ id: requested.id, filename: requested.filename, structs });
  }
  return files;
}
