/**
 * Hand-built Cap'n Proto frames for tests: well-formed requests through the codec, and hostile
 * ones word by word.
 *
 * @module
 */

import { type StructCodec } from "../capnp/mod.ts";
import { measureRequest, writeRequest } from "../rpc/envelope.ts";

/** A framed RpcRequest built with the codec. */
export function requestFrame<P>(
  methodName: string,
  codec: StructCodec<P>,
  params: P,
  requestId = 1,
): Uint8Array<ArrayBuffer> {
  const request = { requestId, methodName, codec, params };
  const out = new Uint8Array(measureRequest(request));
  writeRequest(request, out);
  return out;
}

/** One 64-bit word as [low u32, high u32]. */
export type Word = readonly [number, number];

/** A struct pointer. */
export function structPtr(offsetWords: number, dataWords: number, ptrCount: number): Word {
  return [((offsetWords << 2) | 0) >>> 0, (dataWords | (ptrCount << 16)) >>> 0];
}

/** A list pointer (elementSize 2 = byte, 7 = composite). */
export function listPtr(offsetWords: number, elementSize: number, count: number): Word {
  return [((offsetWords << 2) | 1) >>> 0, (elementSize | (count << 3)) >>> 0];
}

/** Text bytes (with NUL) padded into words. */
export function textWords(text: string): Word[] {
  const bytes = new TextEncoder().encode(text + "\0");
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  const words: Word[] = [];
  for (let i = 0; i < padded.length; i += 8) {
    words.push([view.getUint32(i, true), view.getUint32(i + 4, true)]);
  }
  return words;
}

/** A single-segment frame of `words`. */
export function frameOf(words: readonly Word[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(8 + words.length * 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0, true);
  view.setUint32(4, words.length, true);
  words.forEach(([lo, hi], i) => {
    view.setUint32(8 + i * 8, lo, true);
    view.setUint32(12 + i * 8, hi, true);
  });
  return out;
}

/**
 * An RpcRequest for `methodName` whose params struct (3 pointers, like WorknodeCreateParams)
 * has `params` as its pointer words, followed by `tail` words.
 */
export function hostileRequest(
  methodName: string,
  paramsPointers: readonly Word[],
  tail: readonly Word[],
): Uint8Array<ArrayBuffer> {
  const name = textWords(methodName);
  // w0 root, w1 requestId, w2 methodName ptr, w3 params ptr, then name, then params struct.
  const words: Word[] = [
    structPtr(0, 1, 2),
    [9, 0],
    listPtr(1, 2, new TextEncoder().encode(methodName).length + 1),
    structPtr(name.length, 0, paramsPointers.length),
    ...name,
    ...paramsPointers,
    ...tail,
  ];
  return frameOf(words);
}
