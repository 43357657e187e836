/**
 * Helpers shared inside `http1/`: the write loop.
 *
 * @module
 */

/** The most `conn.write` calls one buffer may take (each writes at least one byte). */
export const WRITE_CALLS_MAX = 1 << 24;

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
