/**
 * Valid values of every schema struct, the seed corpus of `fuzz_capnp_test.ts`. They use every
 * field (non-ASCII text, empty text, negative Int64, UInt64 above 2^32, Data, nested lists), and
 * include a 1,000-property overlap (the service's normal `maxPropertiesPerOverlap` is 1024).
 *
 * @module
 */
import type { StructCodec } from "../capnp/mod.ts";
import { HolderCodec, type Nest, NestCodec } from "../capnp/testdata/nest_capnp.ts";
import { RpcErrorCodec } from "../schema/rpc_capnp.ts";
import {
  ConflictCodec,
  SheafGlueParamsCodec,
  SheafGlueResultCodec,
  SheafOverlapMessageCodec,
  SheafOverlapResultCodec,
} from "../schema/sheaf_capnp.ts";
import {
  MethodInfoCodec,
  PoolClassCodec,
  SystemConfigParamsCodec,
  SystemConfigResultCodec,
  SystemEchoParamsCodec,
  SystemEchoResultCodec,
  SystemMethodsParamsCodec,
  SystemMethodsResultCodec,
  SystemPoolParamsCodec,
  SystemPoolResultCodec,
} from "../schema/system_capnp.ts";
import {
  type Property,
  PropertyCodec,
  type Worknode,
  WorknodeCodec,
  WorknodeCreateParamsCodec,
  WorknodeCreateResultCodec,
  WorknodeDeleteParamsCodec,
  WorknodeDeleteResultCodec,
  WorknodeGetParamsCodec,
  WorknodeGetResultCodec,
  WorknodeListParamsCodec,
  WorknodeListResultCodec,
  WorknodeUpdateParamsCodec,
  WorknodeUpdateResultCodec,
} from "../schema/worknode_capnp.ts";

/** A codec with one valid value of its type. */
// deno-lint-ignore no-explicit-any
export type Sample = { readonly codec: StructCodec<any>; readonly value: unknown };

function sample<T>(codec: StructCodec<T>, value: T): Sample {
  return { codec, value };
}

const PROPERTIES: Property[] = [
  { key: "location", value: "rack-7/slot-3" },
  { key: "unit", value: "°C ✓" },
  { key: "empty", value: "" },
];

/** 1,000 properties with keys and values of varying lengths (the large overlap). */
const OVERLAP_PROPERTIES: Property[] = Array.from({ length: 1000 }, (_, i) => ({
  key: `key-${i.toString(36)}`,
  value: "v".repeat(i % 23) + (i % 7 === 0 ? "é" : ""),
}));

const WORKNODE: Worknode = {
  id: "wn-01HZX3K9Q2M4",
  kind: "sensor",
  properties: PROPERTIES,
  version: 2 ** 40 + 5,
  createdAtMs: -1_234_567_890_123,
  updatedAtMs: 1_700_000_000_000,
};

const POOL_CLASS = {
  blockSizeBytes: 65536,
  blocksTotal: 1024,
  blocksInUse: 3,
  blocksInUseHighWatermark: 17,
  allocTotal: 2 ** 33 + 1,
  allocFailuresTotal: 2,
  bytesRequestedInUse: 70000,
};

/** A chain of `depth` nested structs (the read limit is 64 levels). */
function nest(depth: number): Nest {
  let value: Nest = { child: null, value: depth };
  for (let i = depth - 1; i > 0; i--) value = { child: value, value: i };
  return value;
}

/**
 * One or more valid values for every struct of schema/*.capnp, plus the codec's own test schema
 * (capnp/testdata/nest.capnp: deep nesting and a list of zero-sized structs).
 */
export const CORPUS_SAMPLES: readonly Sample[] = [
  sample(RpcErrorCodec, { code: "not_found", message: "no worknode wn-1", details: '{"id":1}' }),
  sample(PropertyCodec, { key: "k", value: "réd" }),
  sample(WorknodeCodec, WORKNODE),
  sample(WorknodeCreateParamsCodec, { kind: "sensor", properties: PROPERTIES, id: "" }),
  sample(WorknodeCreateResultCodec, { id: "wn-2", version: 1 }),
  sample(WorknodeGetParamsCodec, { id: "wn-01HZX3K9Q2M4" }),
  sample(WorknodeGetResultCodec, { worknode: WORKNODE }),
  sample(WorknodeUpdateParamsCodec, {
    id: "wn-1",
    expectedVersion: 9,
    set: [{ key: "a", value: "1" }],
    remove: ["b", "ccccccccc", ""],
  }),
  sample(WorknodeUpdateResultCodec, { version: 10 }),
  sample(WorknodeDeleteParamsCodec, { id: "wn-1", expectedVersion: 2 ** 50 }),
  sample(WorknodeDeleteResultCodec, {}),
  sample(WorknodeListParamsCodec, { kind: "sensor", cursor: "c-9", limit: 1000 }),
  sample(WorknodeListResultCodec, {
    worknodes: [WORKNODE, { ...WORKNODE, id: "wn-2", properties: [] }],
    nextCursor: "c",
  }),
  sample(SheafOverlapMessageCodec, { a: "wn-a", b: "wn-b", properties: PROPERTIES }),
  sample(SheafOverlapMessageCodec, { a: "wn-a", b: "wn-b", properties: OVERLAP_PROPERTIES }),
  sample(ConflictCodec, {
    key: "k",
    valueA: "a",
    valueB: "b",
    valueClaimed: "c",
    presentInA: true,
    presentInB: false,
  }),
  sample(SheafOverlapResultCodec, {
    consistent: false,
    conflicts: [
      { key: "k", valueA: "a", valueB: "", valueClaimed: "a", presentInA: true, presentInB: false },
      { key: "j", valueA: "", valueB: "b", valueClaimed: "", presentInA: false, presentInB: true },
    ],
  }),
  sample(SheafGlueParamsCodec, {
    a: "wn-a",
    b: "wn-b",
    expectedVersionA: 3,
    expectedVersionB: 2 ** 45,
    properties: PROPERTIES,
    resolve: true,
  }),
  sample(SheafGlueResultCodec, { versionA: 4, versionB: 2 ** 45 + 1 }),
  sample(SystemMethodsParamsCodec, {}),
  sample(MethodInfoCodec, { name: "worknode.get", id: 3, requestBytesMax: 65536, mutating: false }),
  sample(SystemMethodsResultCodec, {
    methods: [
      { name: "worknode.get", id: 3, requestBytesMax: 65536, mutating: false },
      { name: "sheaf.glue", id: 9, requestBytesMax: 8 * 1024 * 1024, mutating: true },
    ],
  }),
  sample(SystemPoolParamsCodec, {}),
  sample(PoolClassCodec, POOL_CLASS),
  sample(SystemPoolResultCodec, {
    regionBytes: 2 ** 36,
    classes: [POOL_CLASS, { ...POOL_CLASS, blockSizeBytes: 4096 }],
  }),
  sample(SystemConfigParamsCodec, {}),
  sample(SystemConfigResultCodec, {
    maxPropertiesPerOverlap: 1024,
    messageBytesMax: 8_400_000,
    poolBytes: 2 ** 31,
    profile: "normal",
    rpcTimeoutMsMax: 30000,
    keyBytesMax: 256,
    valueBytesMax: 8192,
    propertiesPerWorknodeMax: 4096,
  }),
  sample(SystemEchoParamsCodec, { payload: new Uint8Array([0, 1, 2, 0xff, 0x80, 7, 8, 9, 10]) }),
  sample(SystemEchoResultCodec, { payload: new Uint8Array(0) }),
  sample(NestCodec, nest(60)),
  sample(HolderCodec, {
    items: Array.from({ length: 20 }, () => ({})),
    names: ["a", "", "ünï"],
    flag: true,
    count: -(2 ** 52),
  }),
];
