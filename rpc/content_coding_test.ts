import assert from "@std/assert";
import { answerCodingOf, bodyCodingOf, CODING_ITEMS_MAX } from "./content_coding.ts";

Deno.test("content coding: Accept-Encoding picks zstd or gzip by quality, the server's order on a tie", () => {
  const cases: [string | null, string | null][] = [
    [null, null],
    ["", null],
    ["identity", null],
    ["gzip", "gzip"],
    ["GZIP", "gzip"],
    ["x-gzip", "gzip"],
    ["deflate, gzip, br, zstd", "zstd"],
    ["gzip, deflate, br, zstd", "zstd"],
    ["gzip;q=1.0, zstd;q=0.5", "gzip"],
    ["zstd;q=0, gzip;q=0", null],
    ["zstd;q=0", null],
    ["*", "zstd"],
    ["*;q=0.1, gzip;q=0.5", "gzip"],
    ["gzip;q=2", null],
    ["br", null],
    ["gzip ; q=0.8 , zstd ; q=0.7", "gzip"],
  ];
  for (const [field, coding] of cases) assert.equal(answerCodingOf(field), coding, String(field));
  assert.equal(answerCodingOf("br,".repeat(CODING_ITEMS_MAX) + "gzip"), null, "too many items");
  assert.equal(answerCodingOf("gzip" + " ".repeat(2000)), null, "too long");
});

Deno.test("content coding: a request body is identity, gzip, or unsupported", () => {
  assert.equal(bodyCodingOf(null, 0), "identity");
  assert.equal(bodyCodingOf("identity", 1), "identity");
  assert.equal(bodyCodingOf(" GZip ", 1), "gzip");
  assert.equal(bodyCodingOf("x-gzip", 1), "gzip");
  assert.equal(bodyCodingOf("gzip", 2), "unsupported");
  assert.equal(bodyCodingOf("gzip, gzip", 1), "unsupported");
  assert.equal(bodyCodingOf("br", 1), "unsupported");
});
