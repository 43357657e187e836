/**
 * The loads of the as-shipped bench (bench/shipped_bench.ts), per transport: its baseline(s)
 * first, then one load per call row, each naming its load generator and the baseline it is
 * divided by.
 *
 * @module
 */

import { CALL_ROWS, type CallRow, ROW_NAMES } from "./_call_rows.ts";
import {
  type LoadCall,
  type LoadRun,
  runDenoClient,
  runH2load,
  runWrk,
} from "./_load_generators.ts";
import type { ShippedService } from "./_shipped_service.ts";

/** The transports, in report order. */
export const TRANSPORTS = ["h1", "tls-h1", "h2", "h3"] as const;

/** One transport's name. */
export type TransportName = typeof TRANSPORTS[number];

/** The processes under load. */
export interface Servers {
  readonly svc: ShippedService;
  readonly baseline: {
    readonly pid: number;
    readonly plainPort: number;
    readonly tlsPort: number;
    readonly quicPort: number;
  };
}

/** What a load is handed: the call without its URL (the spec knows where it goes). */
export type CallWithoutUrl = Omit<LoadCall, "url">;

/** One load of a round: a row of the service or a baseline. */
export interface LoadSpec {
  readonly id: string;
  readonly transport: TransportName;
  /** The call row (null: a baseline, which posts the binary echo's body with no token). */
  readonly row: CallRow | null;
  /** The load generator, as the report names it. */
  readonly load: string;
  /** The spec whose req/s this one is divided by; null for a baseline. */
  readonly baselineId: string | null;
  run(call: CallWithoutUrl, servers: Servers): Promise<LoadRun>;
}

/** The wrk loads of plaintext h1 or TLS h1 (wrk over https negotiates http/1.1). */
function h1Specs(transport: "h1" | "tls-h1"): LoadSpec[] {
  const base = `${transport}/baseline`;
  const scheme = transport === "h1" ? "http" : "https";
  const bare = (s: Servers) => transport === "h1" ? s.baseline.plainPort : s.baseline.tlsPort;
  const own = (s: Servers) =>
    Number(transport === "h1" ? new URL(s.svc.plainUrl).port : s.svc.port);
  const url = (port: number, path: string) => `${scheme}://127.0.0.1:${port}${path}`;
  const specs: LoadSpec[] = [{
    id: base,
    transport,
    row: null,
    load: "wrk",
    baselineId: null,
    run: (call, s) => runWrk({ ...call, url: url(bare(s), "/") }),
  }];
  for (const name of ROW_NAMES) {
    const row = CALL_ROWS[name];
    specs.push({
      id: `${transport}/${name}`,
      transport,
      row,
      load: "wrk",
      baselineId: base,
      run: (call, s) => runWrk({ ...call, url: url(own(s), row.path) }),
    });
  }
  return specs;
}

const H2_FETCH = "Deno fetch (h2)";

/** The h2 loads: h2load for fixed bodies; updates (a body per call) through Deno's fetch. */
function h2Specs(): LoadSpec[] {
  const url = (port: number, path: string) => `https://127.0.0.1:${port}${path}`;
  const specs: LoadSpec[] = [{
    id: "h2/baseline",
    transport: "h2",
    row: null,
    load: "h2load",
    baselineId: null,
    run: (call, s) => runH2load({ ...call, url: url(s.baseline.tlsPort, "/") }),
  }];
  for (const name of ROW_NAMES.filter((n) => n !== "update")) {
    const row = CALL_ROWS[name];
    specs.push({
      id: `h2/${name}`,
      transport: "h2",
      row,
      load: "h2load",
      baselineId: "h2/baseline",
      run: (call, s) => runH2load({ ...call, url: url(s.svc.port, row.path) }),
    });
  }
  const update = CALL_ROWS.update;
  specs.push({
    id: "h2/baseline-fetch",
    transport: "h2",
    row: null,
    load: H2_FETCH,
    baselineId: null,
    run: (call, s) =>
      runDenoClient("h2", { port: s.baseline.tlsPort, caPath: s.svc.caPath, path: "/" }, call),
  }, {
    id: "h2/update",
    transport: "h2",
    row: update,
    load: H2_FETCH,
    baselineId: "h2/baseline-fetch",
    run: (call, s) =>
      runDenoClient("h2", { port: s.svc.port, caPath: s.svc.caPath, path: update.path }, call),
  });
  return specs;
}

/** The HTTP/3 loads through the project's client; the raw QUIC echo through Deno's QUIC. */
function h3Specs(): LoadSpec[] {
  const specs: LoadSpec[] = [{
    id: "h3/baseline",
    transport: "h3",
    row: null,
    load: "Deno QUIC client (raw streams)",
    baselineId: null,
    run: (call, s) =>
      runDenoClient("quic", { port: s.baseline.quicPort, caPath: s.svc.caPath, path: "/" }, call),
  }];
  for (const name of ROW_NAMES) {
    const row = CALL_ROWS[name];
    specs.push({
      id: `h3/${name}`,
      transport: "h3",
      row,
      load: "H3Client (http3/client.ts)",
      baselineId: "h3/baseline",
      run: (call, s) =>
        runDenoClient("h3", { port: s.svc.port, caPath: s.svc.caPath, path: row.path }, call),
    });
  }
  return specs;
}

/**
 * Every load of one round, transport after transport.
 *
 * @example
 * ```ts
 * for (const spec of allSpecs()) console.log(spec.id, spec.load);
 * ```
 */
export function allSpecs(): LoadSpec[] {
  return [...h1Specs("h1"), ...h1Specs("tls-h1"), ...h2Specs(), ...h3Specs()];
}
