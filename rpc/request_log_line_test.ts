import assert from "@std/assert";
import { Rng } from "../tests/_fuzz.ts";
import { LINE_NO_ROOM, type RequestLogEntry, writeRequestLine } from "./request_log_line.ts";

const TS = "2026-12-04T11:36:13.123Z";
const TS_BYTES = new TextEncoder().encode(TS);

/** The line as JSON.stringify of the former object writes it. */
function stringified(fields: RequestLogEntry): string {
  return JSON.stringify({
    ts: TS,
    level: "info",
    msg: "rpc",
    method: fields.method,
    code: fields.code,
    httpStatus: fields.httpStatus,
    durationMs: Math.round(fields.durationMs * 1000) / 1000,
    bytesIn: fields.bytesIn,
    bytesOut: fields.bytesOut,
    leasesHeld: fields.leasesHeld,
    transport: fields.transport,
  }) + "\n";
}

function written(fields: RequestLogEntry, room = 4096): string | null {
  const out = new Uint8Array(room);
  const end = writeRequestLine(out, 0, room, TS_BYTES, fields);
  return end === LINE_NO_ROOM ? null : new TextDecoder().decode(out.subarray(0, end));
}

const BASE: RequestLogEntry = {
  method: "worknode.get",
  code: "ok",
  httpStatus: 200,
  durationMs: 0.5,
  bytesIn: 10,
  bytesOut: 20,
  leasesHeld: 0,
  transport: "h2",
};

Deno.test("writeRequestLine: 20,000 random numbers, byte for byte JSON.stringify's line", () => {
  // Deterministic: a fixed seed, so a failure names a reproducible case.
  const rng = new Rng(20261204);
  const next = () => rng.int(2 ** 32) / 2 ** 32;
  const number = (): number => {
    const kind = Math.floor(next() * 6);
    if (kind === 0) return Math.floor(next() * 1000);
    if (kind === 1) return next() * 10 ** Math.floor(next() * 16);
    if (kind === 2) return next() * 1e-3;
    if (kind === 3) return Math.floor(next() * 2 ** 53);
    if (kind === 4) return (next() - 0.5) * 10 ** Math.floor(next() * 22);
    return [
      0,
      -0,
      1e21,
      2 ** 53,
      Number.NaN,
      Infinity,
      -Infinity,
      999.9995,
    ][Math.floor(next() * 8)];
  };
  for (let i = 0; i < 20_000; i++) {
    const fields = {
      ...BASE,
      httpStatus: number(),
      durationMs: number(),
      bytesIn: number(),
      bytesOut: number(),
      leasesHeld: number(),
    };
    assert.equal(written(fields), stringified(fields), JSON.stringify(fields));
  }
});

Deno.test("writeRequestLine: strings JSON escapes take its form", () => {
  for (
    const method of ['a"b', "back\\slash", "line\nbreak", "\u0000", "é", "\u{1f600}", "\ud800"]
  ) {
    // The transport is typed as one of TRANSPORTS; the writer escapes it as any string.
    const transport = method as RequestLogEntry["transport"];
    const fields = { ...BASE, method, code: method, transport };
    assert.equal(written(fields), stringified(fields));
  }
});

Deno.test("writeRequestLine: a line that does not fit its room says so, at every cut", () => {
  for (const fields of [BASE, { ...BASE, method: 'é"x', durationMs: 1e300 }]) {
    const size = new TextEncoder().encode(stringified(fields)).length;
    assert.equal(written(fields, size), stringified(fields));
    for (let room = 0; room < size; room++) {
      assert.equal(written(fields, room), null, `room ${room}`);
    }
  }
});
