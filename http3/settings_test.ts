import assert from "@std/assert";
import { h3ErrorCode } from "./_test_errors.ts";
import { isGreaseId, parseSettingsPayload, serializeSettingsPayload } from "./settings.ts";

Deno.test("settings: round-trip with defaults for absent fields", () => {
  const payload = serializeSettingsPayload(
    { qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16, maxFieldSectionSize: 65536 },
    { grease: true },
  );
  assert.deepEqual(parseSettingsPayload(payload), {
    qpackMaxTableCapacity: 4096,
    qpackBlockedStreams: 16,
    maxFieldSectionSize: 65536,
    enableConnectProtocol: false,
  });
  const empty = parseSettingsPayload(new Uint8Array(0));
  assert.equal(empty.qpackMaxTableCapacity, 0);
  assert.equal(empty.maxFieldSectionSize, Infinity);
});

Deno.test("settings: gtlsclient-style 8-byte varint values and GREASE ids are accepted", () => {
  // id 0x06 with an 8-byte value 2^62-1, then a GREASE id 0x21 with a 4-byte value.
  const payload = new Uint8Array([
    0x06,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x21,
    0x80,
    0,
    0,
    1,
  ]);
  const settings = parseSettingsPayload(payload);
  assert.equal(settings.maxFieldSectionSize, Number.MAX_SAFE_INTEGER);
  assert.ok(isGreaseId(0x21) && isGreaseId(0x1f * 3 + 0x21) && !isGreaseId(0x22));
});

Deno.test("settings: duplicates and HTTP/2 ids are H3_SETTINGS_ERROR", () => {
  assert.equal(
    h3ErrorCode(() => parseSettingsPayload(new Uint8Array([1, 0, 1, 0]))),
    "H3_SETTINGS_ERROR",
  );
  for (const id of [2, 3, 4, 5]) {
    assert.equal(
      h3ErrorCode(() => parseSettingsPayload(new Uint8Array([id, 0]))),
      "H3_SETTINGS_ERROR",
    );
  }
});

Deno.test("settings: every truncated payload is H3_FRAME_ERROR", () => {
  const payload = serializeSettingsPayload({
    qpackMaxTableCapacity: 4096,
    qpackBlockedStreams: 100,
  });
  // Cuts that fall between entries are complete payloads; the rest must be refused.
  const entryEnds = new Set([0, 3]);
  for (let cut = 0; cut < payload.length; cut++) {
    const code = h3ErrorCode(() => parseSettingsPayload(payload.subarray(0, cut)));
    assert.equal(code, entryEnds.has(cut) ? undefined : "H3_FRAME_ERROR", `cut ${cut}`);
  }
});
