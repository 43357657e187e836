/**
 * The shape of a generated struct codec (one per schema struct, in `schema/*_capnp.ts`).
 *
 * @module
 */

/**
 * The reader a codec reads from: a `MessageReader` (reader.ts). Opaque here so that this file
 * imports neither the reader nor the writer, which both import it (no import cycle); generated
 * codecs name the concrete types, and method parameters accept them.
 */
export type CodecReader = object;

/** The writer a codec writes to: a `MessageWriter` (writer.ts); opaque for the same reason. */
export type CodecWriter = object;

/**
 * Reads, measures, writes and converts (JSON) one struct type. Generated from the schema.
 *
 * The `readBody`/`measureChildren`/`writeBody` members are the hot path used by generated code
 * and by the envelope helpers; application code calls `decodeMessage`, `measureMessage`,
 * `writeMessage`, `readParams`, `writeResponse` instead of calling them directly.
 *
 * @example
 * ```ts
 * import { PropertyCodec } from "../schema/worknode_capnp.ts";
 * const p = PropertyCodec.fromJson({ key: "color", value: "red" });
 * console.log(PropertyCodec.toJson(p));
 * ```
 */
export interface StructCodec<T> {
  /** The schema name, e.g. `"Property"`. */
  readonly typeName: string;
  /** Words in the data section written by this codec. */
  readonly dataWords: number;
  /** Pointers in the pointer section written by this codec. */
  readonly pointerCount: number;
  /**
   * Decodes the struct whose data section starts at byte `dataPos` of segment `seg`, with
   * `dataBytes` and `pointerCount` as the (validated) sizes found in the message. Internal:
   * generated code calls it with bounds already checked by the reader.
   */
  readBody(
    msg: CodecReader,
    seg: number,
    dataPos: number,
    dataBytes: number,
    pointerCount: number,
    depth: number,
  ): T;
  /** Words of out-of-line content (texts, lists, child structs) below a struct of this value. */
  measureChildren(value: T): number;
  /** Writes the fields of `value` into the (zeroed) struct whose data starts at `dataPos`. */
  writeBody(w: CodecWriter, value: T, dataPos: number): void;
  /** Validates a JSON value (parsed) and returns the typed value; throws CapnpError bad_json. */
  fromJson(value: unknown, path?: string): T;
  /** The JSON form (UInt64 as number, Data as base64 text). */
  toJson(value: T): unknown;
}
