/**
 * The reference implementations as oracles: Debian's `capnp encode`/`capnp decode` (C++) and
 * capnp-es must agree with this codec byte for byte on encoded output and on decoded values.
 */
import assert from "@std/assert";
import * as capnp from "capnp-es";
import { pipeThroughCommand } from "../tests/_command.ts";
import { SheafOverlapMessageCodec, SheafOverlapResultCodec } from "../schema/sheaf_capnp.ts";
import {
  SystemConfigResultCodec,
  SystemEchoParamsCodec,
  SystemPoolResultCodec,
} from "../schema/system_capnp.ts";
import {
  PropertyCodec,
  WorknodeDeleteResultCodec,
  WorknodeGetResultCodec,
  WorknodeListResultCodec,
  WorknodeUpdateParamsCodec,
} from "../schema/worknode_capnp.ts";
import {
  CapnpError,
  decodeMessage,
  measureMessage,
  type StructCodec,
  writeMessage,
} from "./mod.ts";

function capnpTool(args: string[], input: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return pipeThroughCommand("capnp", args, input);
}

/** The capnp text form of a plain value; empty texts, lists and data are left out (null). */
function toText(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value instanceof Uint8Array) {
    return `0x"${[...value].map((b) => b.toString(16).padStart(2, "0")).join(" ")}"`;
  }
  if (Array.isArray(value)) return `[${value.map(toText).join(", ")}]`;
  const fields = Object.entries(value as Record<string, unknown>).filter(([, v]) =>
    v !== "" && v !== null && !(Array.isArray(v) && v.length === 0) &&
    !(v instanceof Uint8Array && v.length === 0)
  );
  return `(${fields.map(([k, v]) => `${k} = ${toText(v)}`).join(", ")})`;
}

function encode<T>(codec: StructCodec<T>, value: T): Uint8Array {
  const out = new Uint8Array(measureMessage(codec, value));
  assert.equal(writeMessage(codec, value, out), out.length);
  return out;
}

const worknode = {
  id: "wn-01HZX3K9Q2M4",
  kind: "sensor",
  properties: [
    { key: "location", value: "rack-7/slot-3" },
    { key: "unit", value: "°C ✓" },
    { key: "empty", value: "" },
  ],
  version: 2 ** 40 + 5,
  createdAtMs: -1_234_567_890_123,
  updatedAtMs: 1_700_000_000_000,
};

// deno-lint-ignore no-explicit-any
const CASES: { file: string; type: string; codec: StructCodec<any>; value: unknown }[] = [
  { file: "worknode", type: "Property", codec: PropertyCodec, value: { key: "k", value: "réd" } },
  {
    file: "worknode",
    type: "WorknodeGetResult",
    codec: WorknodeGetResultCodec,
    value: { worknode },
  },
  {
    file: "worknode",
    type: "WorknodeListResult",
    codec: WorknodeListResultCodec,
    value: { worknodes: [worknode, { ...worknode, id: "wn-2", properties: [] }], nextCursor: "c" },
  },
  {
    file: "worknode",
    type: "WorknodeUpdateParams",
    codec: WorknodeUpdateParamsCodec,
    value: {
      id: "wn-1",
      expectedVersion: 9,
      set: [{ key: "a", value: "1" }],
      remove: ["b", "ccccccccc"],
    },
  },
  { file: "worknode", type: "WorknodeDeleteResult", codec: WorknodeDeleteResultCodec, value: {} },
  {
    file: "sheaf",
    type: "SheafOverlapResult",
    codec: SheafOverlapResultCodec,
    value: {
      consistent: false,
      conflicts: [
        {
          key: "k",
          valueA: "a",
          valueB: "b",
          valueClaimed: "c",
          presentInA: true,
          presentInB: false,
        },
        {
          key: "j",
          valueA: "",
          valueB: "x",
          valueClaimed: "x",
          presentInA: false,
          presentInB: true,
        },
      ],
    },
  },
  {
    file: "sheaf",
    type: "SheafOverlapMessage",
    codec: SheafOverlapMessageCodec,
    value: {
      a: "wn-a",
      b: "wn-b",
      properties: Array.from({ length: 1000 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` })),
    },
  },
  {
    file: "system",
    type: "SystemPoolResult",
    codec: SystemPoolResultCodec,
    value: {
      regionBytes: 64 * 1024 * 1024,
      classes: [{
        blockSizeBytes: 4096,
        blocksTotal: 1024,
        blocksInUse: 3,
        blocksInUseHighWatermark: 17,
        allocTotal: 123456789012,
        allocFailuresTotal: 0,
        bytesRequestedInUse: 5000,
      }],
    },
  },
  {
    file: "system",
    type: "SystemConfigResult",
    codec: SystemConfigResultCodec,
    value: {
      maxPropertiesPerOverlap: 1024,
      messageBytesMax: 8_650_752,
      poolBytes: 268_435_456,
      profile: "normal",
      rpcTimeoutMsMax: 30_000,
      keyBytesMax: 256,
      valueBytesMax: 8192,
      propertiesPerWorknodeMax: 4096,
    },
  },
  {
    file: "system",
    type: "SystemEchoParams",
    codec: SystemEchoParamsCodec,
    value: { payload: Uint8Array.from({ length: 21 }, (_, i) => i * 11) },
  },
];

for (const c of CASES) {
  Deno.test(`capnp encode agrees byte for byte and both decode alike: ${c.type}`, async () => {
    const schema = `schema/${c.file}.capnp`;
    const text = new TextEncoder().encode(toText(c.value));
    const reference = await capnpTool(["encode", schema, c.type], text);
    const ours = encode(c.codec, c.value);
    // capnp encode lays big messages out over several segments; then only the canonical
    // forms (one segment, preorder, trailing zeros cut) must match.
    if (reference[0] === 0) assert.deepEqual(ours, reference);
    const canonical = (bytes: Uint8Array) =>
      capnpTool(["convert", "--quiet", "binary:canonical"], bytes);
    assert.deepEqual(await canonical(ours), await canonical(reference));
    assert.deepEqual(decodeMessage(c.codec, reference), c.value);
    // capnp decode reads our bytes back to the same text capnp encode started from.
    const back = await capnpTool(["decode", "--quiet", "--short", schema, c.type], ours);
    const again = await capnpTool(["encode", schema, c.type], back);
    assert.deepEqual(again, reference);
    // Multi-segment messages (far pointers) from the reference decode to the same value.
    const segmented = await capnpTool(["encode", "--segment-size=4", schema, c.type], text);
    assert.deepEqual(decodeMessage(c.codec, segmented, { segmentCountMax: 100_000 }), c.value);
  });
}

Deno.test("a packed frame from capnp encode --packed is refused", async () => {
  const packed = await capnpTool(
    ["encode", "--packed", "schema/worknode.capnp", "WorknodeGetResult"],
    new TextEncoder().encode(toText({ worknode })),
  );
  assert.throws(() => decodeMessage(WorknodeGetResultCodec, packed), CapnpError);
});

class EsProperty extends capnp.Struct {
  static readonly _capnp = {
    displayName: "Property",
    id: "0000000000000001",
    size: new capnp.ObjectSize(0, 2),
  };
  get key(): string {
    return capnp.utils.getText(0, this);
  }
  set key(value: string) {
    capnp.utils.setText(0, value, this);
  }
  get value(): string {
    return capnp.utils.getText(1, this);
  }
  set value(value: string) {
    capnp.utils.setText(1, value, this);
  }
}

const EsProperties = capnp.CompositeList(EsProperty);

class EsOverlap extends capnp.Struct {
  static readonly _capnp = {
    displayName: "SheafOverlapMessage",
    id: "0000000000000002",
    size: new capnp.ObjectSize(0, 3),
  };
  get a(): string {
    return capnp.utils.getText(0, this);
  }
  set a(value: string) {
    capnp.utils.setText(0, value, this);
  }
  set b(value: string) {
    capnp.utils.setText(1, value, this);
  }
  get b(): string {
    return capnp.utils.getText(1, this);
  }
  get properties(): capnp.List<EsProperty> {
    return capnp.utils.getList(2, EsProperties, this);
  }
  initProperties(length: number): capnp.List<EsProperty> {
    return capnp.utils.initList(2, EsProperties, length, this);
  }
}

Deno.test("capnp-es reads what we write and we read what capnp-es writes", () => {
  const value = {
    a: "wn-a",
    b: "wn-b ü",
    properties: [{ key: "color", value: "red" }, { key: "size", value: "x".repeat(100) }],
  };
  const ours = encode(SheafOverlapMessageCodec, value);
  const read = new capnp.Message(ours.slice().buffer, false).getRoot(EsOverlap);
  assert.equal(read.a, value.a);
  assert.equal(read.b, value.b);
  assert.deepEqual(
    [...read.properties].map((p) => ({ key: p.key, value: p.value })),
    value.properties,
  );

  const message = new capnp.Message();
  const root = message.initRoot(EsOverlap);
  root.a = value.a;
  root.b = value.b;
  const list = root.initProperties(value.properties.length);
  value.properties.forEach((p, i) => {
    list.get(i).key = p.key;
    list.get(i).value = p.value;
  });
  const theirs = new Uint8Array(message.toArrayBuffer());
  assert.deepEqual(decodeMessage(SheafOverlapMessageCodec, theirs), value);
  assert.deepEqual(theirs, ours);
});
