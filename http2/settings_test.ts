import assert from "@std/assert";
import { H2Error } from "./errors.ts";
import { h2Limits } from "./limits.ts";
import {
  applySettingsPayload,
  encodeSettingsFrame,
  localSettings,
  PeerSettings,
  SETTING,
} from "./settings.ts";

function apply(entries: [number, number][], peer = new PeerSettings()): number {
  const frame = encodeSettingsFrame(entries);
  return applySettingsPayload(frame, 9, frame.length - 9, peer);
}

Deno.test("settings: values are applied and checked (RFC 9113 §6.5.2)", () => {
  const peer = new PeerSettings();
  assert.equal(
    apply([[SETTING.INITIAL_WINDOW_SIZE, 100], [SETTING.MAX_FRAME_SIZE, 20000], [0x99, 1]], peer),
    100 - 65535,
  );
  assert.deepEqual([peer.initialWindowBytes, peer.maxFrameSizeBytes], [100, 20000]);
  apply([[SETTING.HEADER_TABLE_SIZE, 0]], peer);
  assert.equal(peer.headerTableChanges, 1);
  const code = (entries: [number, number][]) => {
    try {
      apply(entries);
    } catch (e) {
      return (e as H2Error).codeName;
    }
  };
  assert.equal(code([[SETTING.ENABLE_PUSH, 2]]), "PROTOCOL_ERROR");
  assert.equal(code([[SETTING.INITIAL_WINDOW_SIZE, 2 ** 31]]), "FLOW_CONTROL_ERROR");
  assert.equal(code([[SETTING.MAX_FRAME_SIZE, 16383]]), "PROTOCOL_ERROR");
  assert.equal(code([[SETTING.MAX_FRAME_SIZE, 2 ** 24]]), "PROTOCOL_ERROR");
  assert.throws(() => encodeSettingsFrame([[0x10000, 1]]), RangeError);
});

Deno.test("settings: ours carry no push and our limits", () => {
  const entries = new Map(localSettings(h2Limits({ headerTableBytes: 1024 })));
  assert.equal(entries.get(SETTING.ENABLE_PUSH), 0);
  assert.equal(entries.get(SETTING.MAX_CONCURRENT_STREAMS), 100);
  assert.equal(entries.get(SETTING.INITIAL_WINDOW_SIZE), 16384);
  assert.equal(entries.get(SETTING.HEADER_TABLE_SIZE), 1024);
  assert.equal(entries.has(SETTING.MAX_FRAME_SIZE), false);
});
