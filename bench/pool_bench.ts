/**
 * Pool benchmarks: `deno bench -A bench/pool_bench.ts` (needs `deno task native:build`).
 *
 * Each group has a baseline measured in the same run, so Deno prints the ratios:
 * - lease acquire + view + release vs `new Uint8Array(65536)` and vs `new Uint8Array(4096)`;
 * - one libpool alloc/free pair vs one glibc malloc/free pair of the same size, both through
 *   FFI fast calls so both pay the same crossing (`make -C native bench` measures them in C).
 */
import { Pool } from "../pool/mod.ts";
import { openPoolLibrary } from "../pool/ffi.ts";

const pool = Pool.open([
  { blockSizeBytes: 4096, blockCount: 64 },
  { blockSizeBytes: 65536, blockCount: 16 },
], { prefault: true });

const lib = openPoolLibrary();
const config = new Uint8Array(8 + 16 * 8);
const configView = new DataView(config.buffer);
configView.setUint32(0, 2, true);
configView.setUint32(8, 4096, true);
configView.setUint32(12, 16, true);
configView.setUint32(16, 65536, true);
configView.setUint32(20, 16, true);
const out = new BigUint64Array(1);
if (lib.symbols.pool_create(config, out) !== 0) throw new Error("Cannot create the bench pool");
const nativePool = Deno.UnsafePointer.create(out[0])!;
const { pool_alloc: poolAlloc, pool_free: poolFree } = lib.symbols;

const libc = Deno.dlopen("libc.so.6", {
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
});
const { malloc, free } = libc.symbols;

globalThis.addEventListener("unload", () => {
  pool.close();
  lib.symbols.pool_destroy(nativePool);
  lib.close();
  libc.close();
});

let sink = 0;

Deno.bench({
  name: "new Uint8Array(65536)",
  group: "lease vs Uint8Array(65536)",
  baseline: true,
  fn() {
    const bytes = new Uint8Array(65536);
    bytes[0] = 1;
    sink += bytes[1];
  },
});

Deno.bench({
  name: "lease acquire(60000) + view + release",
  group: "lease vs Uint8Array(65536)",
  fn() {
    const lease = pool.tryAcquire(60000)!;
    const bytes = lease.bytes;
    bytes[0] = 1;
    sink += bytes[1];
    lease.release();
  },
});

Deno.bench({
  name: "new Uint8Array(4096)",
  group: "lease vs Uint8Array(4096)",
  baseline: true,
  fn() {
    const bytes = new Uint8Array(4096);
    bytes[0] = 1;
    sink += bytes[1];
  },
});

Deno.bench({
  name: "lease acquire(4000) + view + release",
  group: "lease vs Uint8Array(4096)",
  fn() {
    const lease = pool.tryAcquire(4000)!;
    const bytes = lease.bytes;
    bytes[0] = 1;
    sink += bytes[1];
    lease.release();
  },
});

for (const sizeBytes of [4096, 65536]) {
  const group = `alloc/free pair ${sizeBytes} B via FFI`;
  const sizeBig = BigInt(sizeBytes);
  Deno.bench({
    name: `glibc malloc/free ${sizeBytes}`,
    group,
    baseline: true,
    fn() {
      free(malloc(sizeBig));
    },
  });
  Deno.bench({
    name: `libpool pool_alloc/pool_free ${sizeBytes}`,
    group,
    fn() {
      sink += poolFree(nativePool, poolAlloc(nativePool, sizeBytes));
    },
  });
}

Deno.bench({
  name: "sink guard",
  fn() {
    if (sink === -1) throw new Error("unreachable: keeps the work observable");
  },
});
