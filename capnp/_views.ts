/**
 * Whole-buffer views, cached for the last two buffers seen. Pool leases are views into one
 * long-lived ArrayBuffer (and a request and its response often alternate between two
 * buffers), so a reader or writer reuses one DataView and one Uint8Array per buffer instead of
 * creating two objects per message. Positions are then absolute in the buffer.
 *
 * @module
 */

/** A DataView, a Uint8Array and a Uint32Array over one whole ArrayBuffer. */
export interface BufferViews {
  readonly buffer: ArrayBufferLike;
  readonly view: DataView;
  readonly u8: Uint8Array;
  /** The buffer's whole 4-byte words (for scans four bytes at a time; platform byte order). */
  readonly u32: Uint32Array;
}

let recent: BufferViews | null = null;
let older: BufferViews | null = null;

function fresh(entry: BufferViews | null, buffer: ArrayBufferLike, end: number): boolean {
  // The views must cover the bytes asked for: a buffer that grew since (a growable
  // ArrayBuffer) gets new ones. `u32` has the fixed length of its creation and is the shortest;
  // only whole words inside the bytes are ever read through it.
  return entry !== null && entry.buffer === buffer && end >>> 2 <= entry.u32.length;
}

/**
 * The cached views over `bytes.buffer` (created when neither cached buffer matches).
 *
 * @example
 * ```ts
 * const { view, u8 } = viewsOf(lease);
 * const first = view.getUint32(lease.byteOffset, true);
 * ```
 */
export function viewsOf(bytes: Uint8Array): BufferViews {
  const buffer = bytes.buffer;
  const end = bytes.byteOffset + bytes.length;
  if (fresh(recent, buffer, end)) return recent!;
  if (fresh(older, buffer, end)) {
    const hit = older!;
    older = recent;
    recent = hit;
    return hit;
  }
  older = recent;
  recent = {
    buffer,
    view: new DataView(buffer),
    u8: new Uint8Array(buffer),
    u32: new Uint32Array(buffer, 0, buffer.byteLength >>> 2),
  };
  return recent;
}
