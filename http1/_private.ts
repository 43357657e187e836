/**
 * Helpers shared inside `http1/`: the RPC path test on target bytes, the write loop, and a
 * body read raced against a call.
 *
 * @module
 */

import type { CallSignal } from "../rpc/call_context.ts";

/** How long an abandoned body read may take to settle before the connection is closed. */
export const READ_SETTLE_MS = 250;

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

/**
 * One socket read into `view`, raced against the call's deadline and disconnect. When the race
 * is lost the read may still be writing into `view` (a lease about to go back to the pool), so
 * it must settle first: it gets READ_SETTLE_MS, then `onLate` closes the connection (a closed
 * socket's read settles at once and writes nothing more), and only then the race's error is
 * thrown.
 *
 * @example
 * ```ts
 * const n = await readRaced(conn, lease.bytes.subarray(got), { call, onLate: () => conn.close() });
 * ```
 */
export async function readRaced(
  conn: Deno.Conn,
  view: Uint8Array,
  options: { readonly call: CallSignal; readonly onLate: () => void },
): Promise<number | null> {
  const reading = conn.read(view);
  try {
    return await options.call.race(reading);
  } catch (error) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), READ_SETTLE_MS);
    });
    const settled = await Promise.race([reading.then(() => "ok", () => "ok"), grace]);
    clearTimeout(timer);
    if (settled === "late") options.onLate();
    await reading.catch(() => {});
    throw error;
  }
}
