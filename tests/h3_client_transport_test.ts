/**
 * The RPC client's HTTP/3 transport (`createHttp3Transport`) against the service: typed calls on
 * both wires, and `client/cli.ts --http 3` (what `deno task call --http 3` runs) as a process.
 */

import assert from "@std/assert";
import { RpcClient } from "../client/mod.ts";
import { createHttp3Transport } from "../http3/client.ts";
import { startH3Service } from "./_h3_service.ts";

Deno.test("h3: RpcClient over the HTTP/3 transport, capnp and JSON wires", async () => {
  const t = await startH3Service();
  const transport = createHttp3Transport({ url: t.origin, caCerts: [t.caPem] });
  try {
    for (const wire of ["capnp", "json"] as const) {
      const client = new RpcClient({ url: t.origin, transport, wire });
      const payload = new TextEncoder().encode(`over h3 via ${wire}`);
      const result = await client.call<{ payload: Uint8Array | string }>("system.echo", {
        payload: wire === "json" ? btoa(`over h3 via ${wire}`) : payload,
      });
      const got = typeof result.payload === "string"
        ? atob(result.payload)
        : new TextDecoder().decode(result.payload);
      assert.equal(got, `over h3 via ${wire}`);
      client.close();
    }
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await transport.close();
    await t.close();
  }
});

Deno.test("h3: client/cli.ts --http 3 calls system.echo", async () => {
  const t = await startH3Service();
  const caPath = await Deno.makeTempFile({ suffix: ".pem" });
  try {
    await Deno.writeTextFile(caPath, t.caPem);
    const cli = new URL("../client/cli.ts", import.meta.url).pathname;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-net",
        "-A",
        cli,
        "--url",
        t.origin,
        "--http",
        "3",
        "--ca",
        caPath,
        "--token",
        "unused",
        "system.echo",
        JSON.stringify({ payload: btoa("cli") }),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, stdout + new TextDecoder().decode(output.stderr));
    assert.equal(atob(JSON.parse(stdout).payload), "cli");
  } finally {
    await Deno.remove(caPath);
    await t.close();
  }
});
