/**
 * The contract table's rows for browsers and caches (tests/contract_test.ts runs them on every
 * transport): CORS preflights and grants, the GET form with ETag / 304, the URL bound, and
 * compressed answers and request bodies. The service runs with `corsOrigins: [ALLOWED_ORIGIN]`.
 *
 * @module
 */

import assert from "@std/assert";
import zlib from "node:zlib";
import { encodeRequest } from "../client/envelope.ts";
import type { Pool } from "../pool/mod.ts";
import type { RunningService } from "../server/service.ts";
import type { ContractClient, ContractResponse } from "./_contract_clients.ts";

/** The origin the contract service grants CORS to. */
export const ALLOWED_ORIGIN = "https://app.example";
/** Tokens of the contract service (contract_test.ts makes them). */
export const WEB_TOKENS = { admin: "contract-admin-token" } as const;

/** What the rows need of the running service. */
export interface WebRowContext {
  readonly svc: RunningService;
  readonly pool: Pool;
}

/** One row of the table. */
export interface WebRow {
  readonly name: string;
  run(client: ContractClient, ctx: WebRowContext): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const JSON_TYPE: [string, string] = ["content-type", "application/json"];
const ADMIN: [string, string] = ["authorization", `Bearer ${WEB_TOKENS.admin}`];

/** base64url without padding, written here independently of the server's decoder. */
function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function getPath(method: string, message: Uint8Array, encoding = "json"): string {
  return `/rpc/${method}?encoding=${encoding}&message=${base64Url(message)}`;
}

async function send(
  client: ContractClient,
  request: { method: string; path: string; fields: [string, string][]; body?: Uint8Array },
): Promise<ContractResponse> {
  const body = request.body ?? new Uint8Array(0);
  const exchange = await client.open({
    method: request.method,
    path: request.path,
    fields: [...request.fields, ["content-length", String(body.length)]],
  });
  if (body.length > 0) await exchange.send(body);
  await exchange.end();
  return await exchange.response;
}

function post(client: ContractClient, path: string, fields: [string, string][], body: unknown) {
  return send(client, {
    method: "POST",
    path,
    fields: [JSON_TYPE, ...fields],
    body: encoder.encode(JSON.stringify(body)),
  });
}

function bodyJson(response: ContractResponse): Record<string, unknown> {
  return JSON.parse(decoder.decode(response.body));
}

const PREFLIGHT_ROWS: readonly WebRow[] = [
  {
    name: "a preflight from the allowed origin: 204 with the grant, without a token or a block",
    async run(client, ctx) {
      const allocs = ctx.pool.stats().classes.map((c) => c.allocTotal);
      for (const [method, methods] of [["system.echo", "GET, POST"], ["worknode.create", "POST"]]) {
        const response = await send(client, {
          method: "OPTIONS",
          path: `/rpc/${method}`,
          fields: [
            ["origin", ALLOWED_ORIGIN],
            ["access-control-request-method", "POST"],
            ["access-control-request-headers", "authorization, content-type"],
          ],
        });
        assert.equal(response.status, 204, method);
        assert.equal(response.body.length, 0);
        assert.equal(response.fields.get("access-control-allow-origin"), ALLOWED_ORIGIN);
        assert.equal(response.fields.get("access-control-allow-methods"), methods);
        const allowed = response.fields.get("access-control-allow-headers") ?? "";
        for (const header of ["authorization", "content-type", "rpc-timeout-ms", "if-none-match"]) {
          assert.ok(allowed.split(", ").includes(header), `${header} in ${allowed}`);
        }
        assert.equal(response.fields.get("access-control-max-age"), "600");
        assert.equal(response.fields.get("vary"), "origin");
      }
      const after = ctx.pool.stats().classes.map((c) => c.allocTotal);
      assert.deepEqual(after, allocs, "no block was taken");
    },
  },
  {
    name: "a preflight from another origin gets no grant",
    async run(client) {
      const response = await send(client, {
        method: "OPTIONS",
        path: "/rpc/system.echo",
        fields: [["origin", "https://evil.example"], ["access-control-request-method", "POST"]],
      });
      assert.equal(response.status, 204);
      assert.equal(response.fields.get("access-control-allow-origin"), undefined);
      assert.equal(response.fields.get("allow"), "GET, POST, OPTIONS");
    },
  },
  {
    name: "the allowed origin's answers carry the grant, refusals too; another origin's do not",
    async run(client) {
      const origin: [string, string] = ["origin", ALLOWED_ORIGIN];
      const ok = await post(client, "/rpc/system.echo", [ADMIN, origin], { payload: "aGk=" });
      assert.equal(ok.status, 200);
      assert.equal(ok.fields.get("access-control-allow-origin"), ALLOWED_ORIGIN);
      assert.equal(ok.fields.get("access-control-expose-headers"), "etag, retry-after");
      assert.equal(ok.fields.get("vary"), "origin");
      const refused = await post(client, "/rpc/system.echo", [origin], { payload: "aGk=" });
      assert.equal(refused.status, 401);
      assert.equal(refused.fields.get("access-control-allow-origin"), ALLOWED_ORIGIN);
      const other = await post(client, "/rpc/system.echo", [ADMIN, [
        "origin",
        "https://evil.example",
      ]], { payload: "aGk=" });
      assert.equal(other.status, 200);
      assert.equal(other.fields.get("access-control-allow-origin"), undefined);
    },
  },
];

const GET_ROWS: readonly WebRow[] = [
  {
    name: "GET worknode.get: 200 with an ETag, 304 with If-None-Match, a new tag after an update",
    async run(client) {
      const id = `get-${client.name}`;
      const created = await post(client, "/rpc/worknode.create", [ADMIN], {
        id,
        kind: "web",
        properties: [{ key: "k", value: "v1" }],
      });
      assert.equal(created.status, 200, decoder.decode(created.body));
      const path = getPath("worknode.get", encoder.encode(JSON.stringify({ id })));
      const first = await send(client, { method: "GET", path, fields: [ADMIN] });
      assert.equal(first.status, 200, decoder.decode(first.body));
      const tag = first.fields.get("etag")!;
      assert.match(tag, /^W\/"j\.wn\.1\.[0-9a-f]{16}"$/);
      assert.equal(first.fields.get("cache-control"), "private, no-cache");
      assert.equal(first.fields.get("vary"), "accept-encoding, origin");
      assert.equal((bodyJson(first).worknode as { id: string }).id, id);
      const again = await send(client, {
        method: "GET",
        path,
        fields: [ADMIN, ["if-none-match", tag]],
      });
      assert.equal(again.status, 304);
      assert.equal(again.body.length, 0);
      assert.equal(again.fields.get("etag"), tag);
      assert.equal(again.fields.get("cache-control"), "private, no-cache");
      const updated = await post(client, "/rpc/worknode.update", [ADMIN], {
        id,
        expectedVersion: 1,
        set: [{ key: "k", value: "v2" }],
        remove: [],
      });
      assert.equal(updated.status, 200, decoder.decode(updated.body));
      const changed = await send(client, {
        method: "GET",
        path,
        fields: [ADMIN, ["if-none-match", tag]],
      });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.fields.get("etag"), tag);
      assert.match(changed.fields.get("etag")!, /^W\/"j\.wn\.2\./);
    },
  },
  {
    name: "GET over Cap'n Proto, and of a method tagged by its answer's hash",
    async run(client) {
      const frame = encodeRequest("system.echo", 7, { payload: encoder.encode("over GET") });
      const path = getPath("system.echo", frame, "capnp");
      const first = await send(client, { method: "GET", path, fields: [ADMIN] });
      assert.equal(first.status, 200);
      assert.equal(first.fields.get("content-type"), "application/capnp");
      const tag = first.fields.get("etag")!;
      assert.match(tag, /^W\/"c\.[0-9a-f]{16}"$/);
      const again = await send(client, {
        method: "GET",
        path,
        fields: [ADMIN, ["if-none-match", tag]],
      });
      assert.equal(again.status, 304);
      const none = await send(client, {
        method: "GET",
        path: "/rpc/system.config",
        fields: [ADMIN],
      });
      assert.equal(none.status, 200, "no message is an empty body");
    },
  },
  {
    name: "GET refusals: 401 without a token, 405 on a mutating method or a batch, 501, 400",
    async run(client, ctx) {
      const path = getPath("system.echo", encoder.encode('{"payload":"aGk="}'));
      const anonymous = await send(client, { method: "GET", path, fields: [] });
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.fields.get("cache-control"), "no-store");
      for (const target of [getPath("worknode.delete", encoder.encode("{}")), "/rpc?message="]) {
        const mutating = await send(client, { method: "GET", path: target, fields: [ADMIN] });
        assert.equal(mutating.status, 405, target);
        assert.equal(mutating.fields.get("allow"), "POST, OPTIONS");
      }
      const unknown = await send(client, { method: "GET", path: "/rpc/no.such", fields: [ADMIN] });
      assert.equal(unknown.status, 501);
      const bad = await send(client, {
        method: "GET",
        path: "/rpc/system.echo?message=a+b",
        fields: [ADMIN],
      });
      assert.equal(bad.status, 400);
      assert.equal(ctx.pool.inUseCount(), 0);
    },
  },
  {
    name: "an over-long GET target: 414 before its query is read",
    async run(client) {
      const path = `/rpc/system.echo?encoding=json&message=${"A".repeat(9000)}`;
      const response = await send(client, { method: "GET", path, fields: [ADMIN] });
      assert.equal(response.status, 414);
      assert.match(decoder.decode(response.body), /exceeds 8192/);
    },
  },
];

/** A JSON echo body of about `n` bytes of repetitive text (compresses well). */
function bigEcho(n: number): Uint8Array {
  return encoder.encode(JSON.stringify({ payload: btoa("compress me ".repeat(n / 16)) }));
}

const COMPRESSION_ROWS: readonly WebRow[] = [
  {
    name: "a large answer is sent zstd- or gzip-coded as accepted; a small one as it is",
    async run(client) {
      const body = bigEcho(40_000);
      const expected = decoder.decode(body);
      const cases: [string | null, string | undefined][] = [
        ["gzip", "gzip"],
        ["gzip, deflate, br, zstd", "zstd"],
        ["zstd;q=0.5, gzip", "gzip"],
        ["identity", undefined],
        [null, undefined],
      ];
      for (const [accept, coding] of cases) {
        const fields: [string, string][] = [JSON_TYPE, ADMIN];
        if (accept !== null) fields.push(["accept-encoding", accept]);
        const response = await send(client, {
          method: "POST",
          path: "/rpc/system.echo",
          fields,
          body,
        });
        assert.equal(response.status, 200);
        assert.equal(response.fields.get("content-encoding"), coding, String(accept));
        const decoded = coding === "gzip"
          ? zlib.gunzipSync(response.body)
          : coding === "zstd"
          ? zlib.zstdDecompressSync(response.body)
          : response.body;
        assert.equal(decoder.decode(decoded), expected);
        if (coding !== undefined) assert.ok(response.body.length < body.length / 4);
      }
      const small = await send(client, {
        method: "POST",
        path: "/rpc/system.echo",
        fields: [JSON_TYPE, ADMIN, ["accept-encoding", "gzip"]],
        body: encoder.encode('{"payload":"aGk="}'),
      });
      assert.equal(small.fields.get("content-encoding"), undefined);
    },
  },
  {
    name: "a gzip request body is inflated; a gzip bomb is 413 before any inflation",
    async run(client, ctx) {
      const body = bigEcho(9_000);
      const gzip: [string, string] = ["content-encoding", "gzip"];
      const ok = await send(client, {
        method: "POST",
        path: "/rpc/system.echo",
        fields: [JSON_TYPE, ADMIN, gzip],
        body: zlib.gzipSync(body),
      });
      assert.equal(ok.status, 200, decoder.decode(ok.body));
      assert.equal(decoder.decode(ok.body), decoder.decode(body));
      const bomb = zlib.gzipSync(new Uint8Array(8 << 20));
      const refused = await send(client, {
        method: "POST",
        path: "/rpc/system.echo",
        fields: [JSON_TYPE, ADMIN, gzip],
        body: bomb,
      });
      assert.equal(refused.status, 413);
      assert.match(JSON.stringify(bodyJson(refused)), /8388608 bytes exceeds 65536/);
      const other = await send(client, {
        method: "POST",
        path: "/rpc/system.echo",
        fields: [JSON_TYPE, ADMIN, ["content-encoding", "br"]],
        body: encoder.encode("{}"),
      });
      assert.equal(other.status, 415);
      // A corrupt stream whose trailer still states a size under the limit.
      const corrupt = zlib.gzipSync(body);
      corrupt[corrupt.length >> 1] ^= 0xff;
      const broken = await send(client, {
        method: "POST",
        path: "/rpc/system.echo",
        fields: [JSON_TYPE, ADMIN, gzip],
        body: corrupt,
      });
      assert.equal(broken.status, 400);
      assert.equal(ctx.pool.inUseCount(), 0);
    },
  },
];

/** Every row of this file, in table order. */
export const WEB_ROWS: readonly WebRow[] = [...PREFLIGHT_ROWS, ...GET_ROWS, ...COMPRESSION_ROWS];
