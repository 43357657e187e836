import assert from "@std/assert";
import { RequestDrain } from "./shutdown_drain.ts";
import { shutdownWithin } from "./shutdown.ts";

Deno.test("RequestDrain counts pending answers, refuses new ones while draining, resolves at 0", async () => {
  const drain = new RequestDrain(() =>
    Response.json({ error: { code: "unavailable" } }, {
      status: 503,
      headers: { "retry-after": "1" },
    })
  );
  let finish = () => {};
  const pending = new Promise<Response>((resolve) => finish = () => resolve(new Response("late")));
  const handler = drain.wrap((request) =>
    new URL(request.url).pathname === "/slow" ? pending : new Response("now")
  );
  const sync = handler(new Request("http://h/fast"));
  assert.ok(sync instanceof Response, "a synchronous answer stays synchronous");
  assert.equal(drain.inFlight, 0);
  const slow = handler(new Request("http://h/slow"));
  assert.equal(drain.inFlight, 1);
  let drained = false;
  const done = drain.drain().then(() => drained = true);
  const refused = await handler(new Request("http://h/fast"));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal((await refused.json()).error.code, "unavailable");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(drained, false, "not drained while a call is in flight");
  finish();
  assert.equal(await (await slow).text(), "late");
  await done;
  assert.equal(drain.inFlight, 0);
  await drain.drain(); // Already idle: resolves at once.
});

Deno.test("shutdownWithin: clean on time, not clean past the deadline", async () => {
  const quick = await shutdownWithin({ shutdown: () => Promise.resolve() }, { timeoutMs: 1000 });
  assert.equal(quick.clean, true);
  let release = () => {};
  const stuck = { shutdown: () => new Promise<void>((resolve) => release = resolve) };
  const late = await shutdownWithin(stuck, { timeoutMs: 20 });
  assert.equal(late.clean, false);
  release();
  await assert.rejects(() => shutdownWithin(stuck, { timeoutMs: -1 }), RangeError);
});
