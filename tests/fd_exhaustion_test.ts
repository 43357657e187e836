/**
 * The service under a low `ulimit -n`, flooded with more connections than it has file
 * descriptors. At 1024 (systemd's usual soft limit) the connection caps keep it below the limit:
 * idle flood connections are evicted to make room. At 200 the limit comes first: accept()
 * fails with EMFILE, accepting pauses and the failures are counted. Either way the process never
 * exits, and once the flood is gone it serves again.
 */

import assert from "@std/assert";
import { startServiceProcess } from "./_service_process.ts";

for (const fileLimit of [1024, 200]) {
  Deno.test(`fd exhaustion: 2,000 connections under ulimit -n ${fileLimit}; the service survives, serves again`, () =>
    flood(fileLimit));
}

async function flood(fileLimit: number): Promise<void> {
  const svc = await startServiceProcess([], { fileLimit });
  const flood: Deno.Conn[] = [];
  try {
    const token = (await Deno.readTextFile(svc.ready.adminTokenPath!)).trim();
    const port = Number(new URL(svc.plainUrl).port);
    // The kernel completes connections into the backlog even when accept() fails, so a client
    // connects, is refused, or (backlog full) waits on SYN retries: in batches, each batch
    // waited for at most 2 s; a late connection is closed when it comes.
    let late = false;
    for (let batch = 0; batch < 10; batch++) {
      const connecting = Array.from(
        { length: 200 },
        () =>
          Deno.connect({ hostname: "127.0.0.1", port }).then((conn) => {
            if (late) conn.close();
            else flood.push(conn);
          }, () => {}),
      );
      await Promise.race([
        Promise.all(connecting),
        new Promise((resolve) => setTimeout(resolve, 2000)),
      ]);
    }
    late = true;
    const exited = await Promise.race([
      svc.child.status.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 500)),
    ]);
    assert.equal(exited, false, "the process is still running");
    for (const conn of flood.splice(0)) conn.close();
    // Served again once the descriptors are back.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      const response = await fetch(`${svc.plainUrl}/rpc/system.echo`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ payload: btoa("back") }),
      }).catch(() => null);
      status = response?.status ?? 0;
      await response?.arrayBuffer();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 200);
    const metrics = await (await fetch(`${svc.plainUrl}/metrics`)).text();
    const counter = (name: string) =>
      Number(new RegExp(`${name}\\{listener="plaintext"\\} (\\d+)`).exec(metrics)?.[1]);
    // At 1024 the caps evict idle connections before the limit; at 200 accept() hits EMFILE.
    const which = fileLimit === 200 ? "listener_accept_errors_total" : "listener_evicted_total";
    assert.ok(counter(which) > 0, `${which}: ${metrics.match(/^listener_.*$/gm)}`);
    const result = await svc.stop();
    assert.equal(result.code, 0, result.stderr);
  } finally {
    for (const conn of flood) conn.close();
    await svc.stop("SIGKILL");
  }
}
