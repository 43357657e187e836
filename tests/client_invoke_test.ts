/** `RpcClient.invoke`: calls typed by the schema, on the binary wire, against a real service. */

import assert from "@std/assert";
import { type ClientMethod, RpcClient } from "../client/mod.ts";
import { RpcError } from "../errors/rpc_error.ts";
import { startTestService } from "./_rpc_harness.ts";

Deno.test("invoke: typed params and results over the binary wire, even on a JSON client", async () => {
  const t = await startTestService();
  try {
    for (const wire of ["capnp", "json"] as const) {
      const client = new RpcClient({ url: t.plainUrl, wire });
      try {
        const echoed = await client.invoke("system.echo", { payload: new Uint8Array([7, 8, 9]) });
        // The result is typed: payload is a Uint8Array, not base64 text.
        const payload: Uint8Array = echoed.payload;
        assert.deepEqual([...payload], [7, 8, 9], wire);
        const config = await client.invoke("system.config", {});
        const profile: string = config.profile;
        assert.equal(profile, "rpc");
        // Checked by `deno check`, never sent: system.echo's payload is bytes, not a number.
        const _wrongParams = () =>
          // @ts-expect-error: a number is not a Uint8Array
          client.invoke("system.echo", { payload: 5 });
      } finally {
        await client.close();
      }
    }
  } finally {
    await t.close();
  }
});

Deno.test("invoke: a name the client has no codec for is a TypeError before any request", async () => {
  const t = await startTestService();
  const client = new RpcClient({ url: t.plainUrl });
  try {
    await assert.rejects(
      () => client.invoke("no.such" as ClientMethod, {} as never),
      (error: unknown) => error instanceof TypeError && /has no codec/.test(error.message),
    );
    await assert.rejects(
      () => client.invoke("system.echo", { payload: new Uint8Array(1 << 20) }),
      (error: unknown) => error instanceof RpcError && error.code === "resource_exhausted",
    );
  } finally {
    await client.close();
    await t.close();
  }
});
