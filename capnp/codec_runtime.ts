/**
 * What generated codecs (`schema/*_capnp.ts`) import from the runtime. Not for application
 * code: use `capnp/mod.ts`.
 *
 * @module
 */
export type { StructCodec } from "./codec.ts";
export type { MessageReader } from "./reader.ts";
export { emptyStructCodec } from "./empty_codec.ts";
export {
  dataWords,
  type MessageWriter,
  structListWords,
  textListWords,
  textWords,
} from "./writer.ts";
export {
  dataToJson,
  jsonBool,
  jsonData,
  jsonInt,
  jsonList,
  jsonObject,
  jsonText,
  jsonUint,
} from "./json.ts";
