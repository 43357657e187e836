/**
 * Decoding a request stream's field section (HEADERS or trailers) with the connection's QPACK
 * decoder, waiting a bounded time when it is blocked on encoder-stream inserts. Shared by the
 * `fetch` path (request_stream.ts) and the direct RPC route (rpc_route.ts).
 *
 * @module
 */

import { H3Error } from "./errors.ts";
import type { QpackDecoder } from "./qpack_dynamic.ts";
import type { FieldLine } from "./qpack_static.ts";
import type { StallWatch } from "./stream_input.ts";

/** What decoding a section needs from the connection. */
export interface SectionDecodeContext {
  readonly decoder: QpackDecoder;
  /** The connection's stall timeout on the service's clock. */
  readonly stallWatch: StallWatch;
  readonly stats: { blockedSectionCount: number };
}

/**
 * Decodes `section` of stream `streamId` now, or waits (at most the stall timeout) for the
 * inserts it references. A timeout cancels the stream's blocked sections and throws H3Error
 * H3_REQUEST_INCOMPLETE (stream scope); QPACK errors are connection errors.
 *
 * @example
 * ```ts
 * const fields = await decodeRequestSection(frame.fieldSection, 0, context);
 * ```
 */
export async function decodeRequestSection(
  section: Uint8Array,
  streamId: number,
  context: SectionDecodeContext,
): Promise<FieldLine[]> {
  const outcome = context.decoder.decodeOrBlock(streamId, section);
  if (outcome.fields !== undefined) return outcome.fields;
  context.stats.blockedSectionCount++;
  try {
    return await context.stallWatch.within(
      outcome.blocked,
      () =>
        new H3Error("H3_REQUEST_INCOMPLETE", "QPACK inserts did not arrive in time", {
          scope: "stream",
        }),
    );
  } catch (error) {
    context.decoder.cancelStream(streamId);
    throw error;
  }
}
