/**
 * Debian's ngtcp2 client (`gtlsclient`, an independent HTTP/3 + QPACK implementation whose
 * SETTINGS carry an 8-byte varint) GETs /healthz from the service over HTTP/3.
 */

import assert from "@std/assert";
import { startH3Service } from "./_h3_service.ts";

Deno.test("h3: gtlsclient GETs /healthz (exit 0, body ok)", async () => {
  const t = await startH3Service();
  const downloadDir = await Deno.makeTempDir({ prefix: "gtlsclient-" });
  try {
    const output = await new Deno.Command("gtlsclient", {
      args: [
        "--exit-on-all-streams-close",
        "--quiet",
        `--download=${downloadDir}`,
        "--timeout=30s",
        "127.0.0.1",
        String(t.port),
        `${t.origin}/healthz`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, `gtlsclient failed: ${stderr.slice(-2000)}`);
    assert.equal(await Deno.readTextFile(`${downloadDir}/healthz`), "ok");
    assert.equal(t.pool.inUseCount(), 0);
  } finally {
    await Deno.remove(downloadDir, { recursive: true });
    await t.close();
  }
});
