/**
 * The QPACK interop files (tests/testdata/qifs, copied into the repository with its LICENSE.md and README.md): where they are, and their
 * encoded form split into blocks, for the QIFS test and the QPACK bench.
 *
 * @module
 */

/** The QIFS checkout (encoded/, qifs/, errors/). */
export const QIFS_DIR = new URL("./testdata/qifs/", import.meta.url);

/** One block of an encoded file: a stream's header section, or encoder-stream bytes (id 0). */
export interface QifBlock {
  readonly streamId: number;
  readonly bytes: Uint8Array;
}

/**
 * Splits an encoded file into its blocks (u64 stream id, u32 length, bytes); throws RangeError
 * on a cut-off block.
 *
 * @example
 * ```ts
 * const blocks = readQifBlocks(Deno.readFileSync(new URL("encoded/qpack-05/x", QIFS_DIR)));
 * ```
 */
export function readQifBlocks(file: Uint8Array): QifBlock[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const blocks: QifBlock[] = [];
  let offset = 0;
  while (offset < file.length) {
    if (offset + 12 > file.length) throw new RangeError(`Cannot read block header at ${offset}`);
    const streamId = Number(view.getBigUint64(offset));
    const length = view.getUint32(offset + 8);
    if (offset + 12 + length > file.length) throw new RangeError(`Cannot read block at ${offset}`);
    blocks.push({ streamId, bytes: file.subarray(offset + 12, offset + 12 + length) });
    offset += 12 + length;
  }
  return blocks;
}
