import assert from "@std/assert";
import {
  REQUEST_LOG_BUFFER_BYTES,
  RequestLog,
  type RequestLogEntry,
  requestLogFor,
  type RequestLogSink,
} from "./request_log.ts";
import { renderRequestLogMetrics } from "./metrics.ts";

const ENTRY: RequestLogEntry = {
  method: "system.echo",
  code: "ok",
  httpStatus: 200,
  durationMs: 1.23456,
  bytesIn: 18,
  bytesOut: 18,
  leasesHeld: 2,
  transport: "h3",
};

/** The line as the log wrote it before it was buffered (one JSON.stringify of an object). */
function formerLine(ts: string, entry: RequestLogEntry): string {
  return JSON.stringify({
    ts,
    level: "info",
    msg: "rpc",
    method: entry.method,
    code: entry.code,
    httpStatus: entry.httpStatus,
    durationMs: Math.round(entry.durationMs * 1000) / 1000,
    bytesIn: entry.bytesIn,
    bytesOut: entry.bytesOut,
    leasesHeld: entry.leasesHeld,
    transport: entry.transport,
  });
}

/** A sink that keeps copies of what it was given; `delayMs` makes each write resolve late. */
class KeptSink implements RequestLogSink {
  readonly chunks: Uint8Array[] = [];
  constructor(readonly delayMs = 0) {}
  async write(bytes: Uint8Array): Promise<number> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.chunks.push(bytes.slice());
    return bytes.length;
  }
  lines(): string[] {
    const text = new TextDecoder().decode(new Uint8Array(this.chunks.flatMap((c) => [...c])));
    assert.ok(text === "" || text.endsWith("\n"), "the output ends with a whole line");
    return text === "" ? [] : text.slice(0, -1).split("\n");
  }
}

/** A macrotask turn, as between two calls arriving over sockets. */
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("requestLogFor: info and debug log requests, warn and error do not", () => {
  assert.ok(requestLogFor("debug") instanceof RequestLog);
  assert.ok(requestLogFor("info") instanceof RequestLog);
  assert.equal(requestLogFor("warn"), null);
  assert.equal(requestLogFor("error"), null);
});

Deno.test("RequestLog.record writes one JSON line with every field", async () => {
  const sink = new KeptSink();
  const log = new RequestLog({ sink });
  log.record(ENTRY);
  await log.close();
  const lines = sink.lines();
  assert.equal(lines.length, 1);
  const { ts, ...rest } = JSON.parse(lines[0]);
  assert.ok(!Number.isNaN(Date.parse(ts)));
  assert.deepEqual(rest, {
    level: "info",
    msg: "rpc",
    method: "system.echo",
    code: "ok",
    httpStatus: 200,
    durationMs: 1.235,
    bytesIn: 18,
    bytesOut: 18,
    leasesHeld: 2,
    transport: "h3",
  });
});

Deno.test("RequestLog lines are byte for byte the former JSON.stringify lines", async () => {
  const entries: RequestLogEntry[] = [
    ENTRY,
    { ...ENTRY, method: "batch", code: "invalid_argument", httpStatus: 400, durationMs: 0 },
    { ...ENTRY, durationMs: 1e-7, bytesIn: 0, leasesHeld: 1e21 },
    { ...ENTRY, durationMs: Number.NaN, bytesOut: Number.POSITIVE_INFINITY, httpStatus: -0 },
    { ...ENTRY, method: 'we"ird\\name\n\u0001', code: "tab\there" },
    { ...ENTRY, method: "méthode.ünïcode", code: "\u{1f600}", durationMs: 12345.6789 },
    { ...ENTRY, method: "lone\ud800surrogate" },
  ];
  const sink = new KeptSink();
  const log = new RequestLog({ sink });
  for (const entry of entries) log.record(entry);
  assert.equal(
    log.bufferedBytes,
    new TextEncoder().encode(
      entries.map((e) => formerLine(new Date().toISOString(), e) + "\n").join(""),
    ).length,
    "the byte count of non-ASCII lines is their UTF-8 size",
  );
  await log.close();
  const lines = sink.lines();
  assert.equal(lines.length, entries.length);
  lines.forEach((line, i) => {
    assert.equal(line, formerLine(JSON.parse(line).ts, entries[i]));
  });
});

Deno.test("RequestLog: a burst of 20,000 lines into a file, every line there, in order", async () => {
  const path = await Deno.makeTempFile({ prefix: "request-log-" });
  const file = await Deno.open(path, { write: true, truncate: true });
  try {
    const log = new RequestLog({ sink: file });
    const total = 20_000;
    // Calls arrive over the event loop: 50 lines per turn, then the sink's writes may finish. On
    // a loaded box a file write can take longer than a turn; the burst waits for the sink once a
    // half is full (a sink that keeps up loses nothing; a slow one is the next test's).
    for (let i = 0; i < total; i++) {
      log.record({ ...ENTRY, bytesIn: i });
      if (i % 50 === 49) await turn();
      if (log.bufferedBytes >= REQUEST_LOG_BUFFER_BYTES / 2) await log.flush();
    }
    await log.close();
    assert.equal(log.droppedLineCount, 0);
    assert.equal(log.bufferedBytes, 0);
    const text = await Deno.readTextFile(path);
    assert.ok(text.endsWith("\n"));
    const lines = text.slice(0, -1).split("\n");
    assert.equal(lines.length, total);
    lines.forEach((line, i) => assert.equal(JSON.parse(line).bytesIn, i, `line ${i}`));
  } finally {
    file.close();
    await Deno.remove(path);
  }
});

Deno.test("RequestLog: a slow sink keeps the buffer in budget and counts every dropped line", async () => {
  const sink = new KeptSink(5);
  const log = new RequestLog({ sink });
  const total = 20_000;
  let bufferedBytesMax = 0;
  for (let i = 0; i < total; i++) {
    log.record({ ...ENTRY, bytesIn: i });
    bufferedBytesMax = Math.max(bufferedBytesMax, log.bufferedBytes);
    if (i % 500 === 499) await turn();
  }
  await log.close();
  assert.ok(bufferedBytesMax <= REQUEST_LOG_BUFFER_BYTES, `${bufferedBytesMax} bytes held`);
  assert.ok(bufferedBytesMax > REQUEST_LOG_BUFFER_BYTES / 2, "both halves were in use");
  const ids = sink.lines().map((line) => JSON.parse(line).bytesIn as number);
  assert.ok(log.droppedLineCount > 0, "the sink could not keep up");
  assert.equal(log.droppedLineCount, total - ids.length);
  ids.forEach((id, i) => assert.ok(i === 0 || id > ids[i - 1], `line ${i} out of order`));
  const text = renderRequestLogMetrics(log);
  assert.match(text, new RegExp(`^request_log_dropped_total ${log.droppedLineCount}$`, "m"));
});

Deno.test("RequestLog: one line is written by the timer, without a flush", async () => {
  const sink = new KeptSink();
  const log = new RequestLog({ sink, flushIntervalMs: 1 });
  try {
    log.record(ENTRY);
    assert.equal(sink.chunks.length, 0, "record itself does not write");
    for (let waitedMs = 0; sink.chunks.length === 0 && waitedMs < 5000; waitedMs += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(sink.lines().length, 1);
    assert.equal(log.bufferedBytes, 0);
  } finally {
    await log.close();
  }
});

Deno.test("RequestLog: a failing sink and a closed log count their lines as dropped", async () => {
  const errors: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const broken: RequestLogSink = { write: () => Promise.reject(new Error("Broken pipe")) };
    const log = new RequestLog({ sink: broken });
    for (let i = 0; i < 3; i++) log.record(ENTRY);
    await log.flush();
    log.record(ENTRY);
    await log.close();
    log.record(ENTRY);
    assert.equal(log.droppedLineCount, 5);
    assert.equal(errors.length, 1, "the failure is reported once");
    assert.match(String(errors[0]), /request log: cannot write \(Broken pipe\)/);
  } finally {
    console.error = consoleError;
  }
});

Deno.test("RequestLog: options are validated", () => {
  assert.throws(() => new RequestLog({ bufferBytes: 10 }), /buffer 10 bytes below 1024/);
  assert.throws(() => new RequestLog({ bufferBytes: 2 ** 40 }), RangeError);
  assert.throws(() => new RequestLog({ flushIntervalMs: -1 }), /flush interval -1 ms/);
});

/** Runs a script that records `count` lines to its stdout (a pipe) with a 10 s flush interval,
 * closing the log or not; its exit status, stdout lines and how long it ran. */
async function childRecording(count: number, close: boolean) {
  const moduleUrl = new URL("./request_log.ts", import.meta.url).href;
  const script = `
    import { RequestLog } from ${JSON.stringify(moduleUrl)};
    const log = new RequestLog({ flushIntervalMs: 10_000 });
    for (let i = 0; i < ${count}; i++) {
      log.record({ method: "system.echo", code: "ok", httpStatus: 200, durationMs: 0.5,
        bytesIn: i, bytesOut: 0, leasesHeld: 0, transport: "h1" });
    }
    ${close ? "await log.close();" : ""}
  `;
  const startedMs = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    lines: text === "" ? [] : text.slice(0, -1).split("\n"),
    elapsedMs: performance.now() - startedMs,
  };
}

Deno.test("RequestLog in a process: close() writes every line to the pipe; the timer never holds the exit", async () => {
  const closed = await childRecording(100, true);
  assert.equal(closed.code, 0, closed.stderr);
  assert.deepEqual(closed.lines.map((line) => JSON.parse(line).bytesIn), [...Array(100).keys()]);
  // Without close() the 10 s timer is the only thing left: unref'd, it does not keep the
  // process alive (and its lines are lost, which is why main.ts closes the log on stop).
  const open = await childRecording(3, false);
  assert.equal(open.code, 0, open.stderr);
  assert.deepEqual(open.lines, []);
  assert.ok(open.elapsedMs < 10_000, `exited after ${open.elapsedMs} ms: the timer held it`);
});

Deno.test("RequestLog: the function form gets each line at once, unbuffered", async () => {
  const lines: string[] = [];
  const log = new RequestLog((line) => lines.push(line));
  log.record(ENTRY);
  assert.equal(lines.length, 1, "no flush needed");
  assert.equal(lines[0], formerLine(JSON.parse(lines[0]).ts, ENTRY));
  assert.equal(log.bufferedBytes, 0);
  await log.close();
  log.record(ENTRY);
  assert.equal(lines.length, 1);
  assert.equal(log.droppedLineCount, 1, "a closed log drops in either form");
});
