/**
 * One measured load of the as-shipped bench: runs a {@link LoadSpec} and samples, around its
 * measured part, its server's CPU time (/proc), the request-log bytes the service appended, and
 * the pool blocks it allocated (`/metrics`).
 *
 * @module
 */

import { CALL_ROWS, type CallRow, UPDATE_IDS_PER_LOAD, writeBodyFiles } from "./_call_rows.ts";
import type { LoadRun } from "./_load_generators.ts";
import { cpuTimeUs } from "./_proc.ts";
import type { LoadSpec, Servers } from "./_shipped_loads.ts";

/** One measured load. */
export interface Measurement extends LoadRun {
  readonly cpuUsPerRequest: number;
  /** Request-log bytes appended per request (service loads; null for a baseline). */
  readonly logBytesPerRequest: number | null;
  /** Pool blocks allocated during the load (service loads; null for a baseline). */
  readonly poolAllocs: number | null;
}

/**
 * The sum of `pool_alloc_total` over the classes, from the service's `/metrics`.
 *
 * @example
 * ```ts
 * const allocs = await poolAllocTotal("http://127.0.0.1:8080");
 * ```
 */
export async function poolAllocTotal(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^pool_alloc_total\{[^}]*\} (\d+)/gm)) total += Number(m[1]);
  return total;
}

/**
 * Hands out fresh worknode ranges to the update loads, so each starts at version 1.
 *
 * @example
 * ```ts
 * const ranges = new UpdateRanges(4000);
 * ranges.take(); // { offset: 0, count: 1000 }
 * ```
 */
export class UpdateRanges {
  readonly #seeded: number;
  #next = 0;

  constructor(seeded: number) {
    this.#seeded = seeded;
  }

  /** The next unused range; throws when the seeded worknodes are used up. */
  take(): { offset: number; count: number } {
    const offset = this.#next;
    if (offset + UPDATE_IDS_PER_LOAD > this.#seeded) {
      throw new RangeError(`Cannot update: all ${this.#seeded} seeded worknodes are used`);
    }
    this.#next += UPDATE_IDS_PER_LOAD;
    return { offset, count: UPDATE_IDS_PER_LOAD };
  }
}

/** The body files of the rows (bench/_call_rows.ts `writeBodyFiles`), written once. */
export class BodyFiles {
  readonly #paths: Map<string, string>;

  constructor(dir: string) {
    this.#paths = writeBodyFiles(dir);
  }

  /** The file every call of `row` posts; null for the update row (a body per call). */
  pathOf(row: CallRow): string | null {
    return this.#paths.get(row.name) ?? null;
  }
}

/** What {@link measure} needs besides the spec. */
export interface MeasureContext {
  readonly servers: Servers;
  readonly seconds: number;
  readonly ranges: UpdateRanges;
  readonly bodies: BodyFiles;
}

/**
 * Runs `spec` once and samples its server around the measured part.
 *
 * @example
 * ```ts
 * const m = await measure(spec, { servers, seconds: 3, ranges, bodies });
 * console.log(m.rps, m.cpuUsPerRequest);
 * ```
 */
export async function measure(spec: LoadSpec, context: MeasureContext): Promise<Measurement> {
  const { servers } = context;
  const isService = spec.row !== null;
  const pid = isService ? servers.svc.pid : servers.baseline.pid;
  // A baseline posts the binary echo's body, with no token.
  const row = spec.row ?? CALL_ROWS.binaryEcho;
  // The log is appended to (O_APPEND): truncating it between loads keeps the disk use small.
  if (isService) await Deno.truncate(servers.svc.logPath, 0);
  const allocsBefore = isService ? await poolAllocTotal(servers.svc.plainUrl) : 0;
  let cpuBeforeUs = NaN;
  let logBefore = 0;
  const run = await spec.run({
    token: isService ? servers.svc.token : null,
    contentType: row.contentType,
    bodyPath: context.bodies.pathOf(row),
    update: row.body === null ? context.ranges.take() : null,
    seconds: context.seconds,
    status: row.status,
    onMeasuring: () => {
      cpuBeforeUs = cpuTimeUs(pid);
      if (isService) logBefore = Deno.statSync(servers.svc.logPath).size;
    },
  }, servers);
  const cpuUs = cpuTimeUs(pid) - cpuBeforeUs;
  const logBytes = isService ? Deno.statSync(servers.svc.logPath).size - logBefore : 0;
  return {
    ...run,
    cpuUsPerRequest: cpuUs / run.requests,
    logBytesPerRequest: isService ? logBytes / run.requests : null,
    poolAllocs: isService ? await poolAllocTotal(servers.svc.plainUrl) - allocsBefore : null,
  };
}
