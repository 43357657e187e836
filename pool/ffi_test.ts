import assert from "@std/assert";
import {
  defaultLibraryPath,
  encodePoolConfig,
  openPoolLibrary,
  POOL_CONFIG_BYTES,
  POOL_STATS_BYTES,
  poolStatusName,
} from "./ffi.ts";
import { type PoolClassConfig, regionBytesFor } from "./pool.ts";

Deno.test("defaultLibraryPath points at native/build/libpool.so beside this module", () => {
  const path = defaultLibraryPath();
  assert.ok(path.endsWith("/native/build/libpool.so"), path);
  assert.ok(Deno.statSync(path).isFile);
  const moduleDir = new URL(".", import.meta.url).pathname;
  assert.equal(path, moduleDir.replace(/pool\/$/, "native/build/libpool.so"));
});

Deno.test("openPoolLibrary names the build task when the library is missing", () => {
  assert.throws(
    () => openPoolLibrary({ libraryPath: "/nonexistent/libpool.so" }),
    /does not exist; run `deno task native:build`/,
  );
  assert.throws(() => openPoolLibrary({ libraryPath: "" }), TypeError);
});

Deno.test("the library reports the struct sizes this binding encodes", () => {
  const lib = openPoolLibrary();
  try {
    assert.equal(lib.symbols.pool_config_bytes(), POOL_CONFIG_BYTES);
    assert.equal(lib.symbols.pool_stats_bytes(), POOL_STATS_BYTES);
  } finally {
    lib.close();
  }
});

Deno.test("regionBytesFor (TS) equals pool_region_bytes (C) on several configs", () => {
  const configs: PoolClassConfig[][] = [
    [{ blockSizeBytes: 64, blockCount: 1 }],
    [{ blockSizeBytes: 4096, blockCount: 2 }],
    [
      { blockSizeBytes: 4096, blockCount: 1000 },
      { blockSizeBytes: 65536, blockCount: 100 },
      { blockSizeBytes: 262144, blockCount: 20 },
      { blockSizeBytes: 1048576, blockCount: 4 },
    ],
    [{ blockSizeBytes: 192, blockCount: 3 }, { blockSizeBytes: 8448, blockCount: 7 }],
    Array.from({ length: 16 }, (_, i) => ({ blockSizeBytes: 64 * (i + 1), blockCount: 511 + i })),
    [{ blockSizeBytes: 64, blockCount: 2 ** 24 - 1 }, {
      blockSizeBytes: 2 ** 32 - 64,
      blockCount: 2 ** 20,
    }],
  ];
  const lib = openPoolLibrary();
  try {
    for (const classes of configs) {
      const native = lib.symbols.pool_region_bytes(encodePoolConfig(classes, 0));
      assert.equal(BigInt(regionBytesFor(classes)), BigInt(native), JSON.stringify(classes));
    }
    assert.equal(regionBytesFor([{ blockSizeBytes: 4096, blockCount: 2 }]), 8192 + 8192);
    // Beyond 2^53 a number would round, so the TS side refuses rather than disagree with C.
    const huge = [{ blockSizeBytes: 2 ** 32 - 64, blockCount: 2 ** 24 - 1 }];
    assert.throws(() => regionBytesFor(huge), /exceeds 2\^53/);
    const invalid = encodePoolConfig([{ blockSizeBytes: 100, blockCount: 1 }], 0);
    assert.equal(BigInt(lib.symbols.pool_region_bytes(invalid)), 0n);
  } finally {
    lib.close();
  }
});

Deno.test("encodePoolConfig lays out pool_config_t and bounds the class count", () => {
  const raw = encodePoolConfig([{ blockSizeBytes: 128, blockCount: 9 }], 3);
  const view = new DataView(raw.buffer);
  assert.deepEqual([0, 4, 8, 12].map((at) => view.getUint32(at, true)), [1, 3, 128, 9]);
  assert.equal(raw.length, POOL_CONFIG_BYTES);
  const tooMany = Array.from(
    { length: 17 },
    (_, i) => ({ blockSizeBytes: 64 * (i + 1), blockCount: 1 }),
  );
  assert.throws(() => encodePoolConfig(tooMany, 0), RangeError);
  assert.equal(poolStatusName(-1), "exhausted");
  assert.equal(poolStatusName(-42), "unknown status -42");
});

Deno.test("the library is found relative to the module from another working directory", async () => {
  // pool.ts imports only relative modules, so it loads without this repo's import map.
  const modUrl = new URL("./pool.ts", import.meta.url).href;
  const script = `
    const { Pool } = await import(${JSON.stringify(modUrl)});
    const pool = Pool.open([{ blockSizeBytes: 4096, blockCount: 2 }]);
    const lease = pool.tryAcquire(10);
    lease.bytes[0] = 7;
    const out = { capacity: lease.capacityBytes, cwd: Deno.cwd() };
    lease.release();
    pool.close();
    console.log(JSON.stringify(out));
  `;
  const cwd = await Deno.makeTempDir();
  try {
    const command = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", script],
      cwd,
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await command.output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const result = JSON.parse(new TextDecoder().decode(stdout));
    assert.equal(result.capacity, 4096);
    assert.equal(result.cwd, await Deno.realPath(cwd));
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
