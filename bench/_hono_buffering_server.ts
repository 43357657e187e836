/**
 * The overload baseline: a plain Hono app as a user would write it, buffering each request body
 * with `arrayBuffer()` and answering it back, plus `GET /healthz`. Run as its own process so its
 * RSS is its own; prints one JSON line `{"port":N}` when listening and stops on SIGTERM.
 *
 * @module
 */

import { Hono } from "hono";

const app = new Hono();
app.get("/healthz", (c) => c.text("ok"));
app.post("/rpc/:method", async (c) => {
  const body = await c.req.arrayBuffer();
  return c.body(body, 200, { "content-type": "application/capnp" });
});

const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
console.log(JSON.stringify({ port: server.addr.port }));
await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
await server.shutdown();
console.log(JSON.stringify({ inUse: 0 }));
Deno.exit(0);
