/**
 * Whole-buffer views, cached for the last buffer seen. Pool leases are views into one
 * long-lived ArrayBuffer, so a reader or writer reuses one DataView and one Uint8Array over
 * it instead of creating two objects per message (positions are then absolute in the buffer).
 *
 * @module
 */

/** A DataView and a Uint8Array over one whole ArrayBuffer. */
export interface BufferViews {
  readonly view: DataView;
  readonly u8: Uint8Array;
}

let lastBuffer: ArrayBufferLike | null = null;
let lastViews: BufferViews | null = null;

/**
 * The cached views over `bytes.buffer` (created when the buffer differs from the last one).
 *
 * @example
 * ```ts
 * const { view, u8 } = viewsOf(lease);
 * const first = view.getUint32(lease.byteOffset, true);
 * ```
 */
export function viewsOf(bytes: Uint8Array): BufferViews {
  const buffer = bytes.buffer;
  if (buffer === lastBuffer && lastViews !== null && lastViews.u8.length === buffer.byteLength) {
    return lastViews;
  }
  const views = { view: new DataView(buffer), u8: new Uint8Array(buffer) };
  lastBuffer = buffer;
  lastViews = views;
  return views;
}
