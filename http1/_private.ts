/**
 * Helpers shared inside `http1/`: the RPC path test on target bytes and the write loop.
 *
 * @module
 */

/** The most `conn.write` calls one buffer may take (each writes at least one byte). */
export const WRITE_CALLS_MAX = 1 << 24;

/**
 * The end of `<method>` when the target `buf[start, end)` is `/rpc/<method>` (optionally with a
 * `?query`), else -1. A segment with `/` or `%`, or an empty one, is left to the app's router,
 * as `rpcMethodSegment` of rpc/app.ts does for URLs.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("/rpc/system.echo?x");
 * rpcSegmentEnd(bytes, 0, bytes.length); // 16
 * ```
 */
export function rpcSegmentEnd(buf: Uint8Array, start: number, end: number): number {
  if (
    end - start < 6 || buf[start] !== 0x2f || buf[start + 1] !== 0x72 ||
    buf[start + 2] !== 0x70 || buf[start + 3] !== 0x63 || buf[start + 4] !== 0x2f
  ) {
    return -1;
  }
  const nameStart = start + 5;
  let i = nameStart;
  for (; i < end; i++) {
    const c = buf[i];
    if (c === 0x3f || c === 0x23) break; // '?' or '#': the path ends.
    if (c === 0x2f || c === 0x25) return -1; // '/' or '%': leave it to the router.
  }
  return i === nameStart ? -1 : i;
}

/**
 * Writes all of `bytes`, looping over partial writes (`conn.write` returns the count written).
 * The write op borrows the view and never detaches it, so a lease view may be written directly.
 *
 * @example
 * ```ts
 * await writeAll(conn, new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n"));
 * ```
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  for (let calls = 0; offset < bytes.length; calls++) {
    if (calls === WRITE_CALLS_MAX) {
      throw new Error(`Cannot write: ${WRITE_CALLS_MAX} partial writes`);
    }
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}
