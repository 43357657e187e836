import assert from "@std/assert";
import {
  CHUNK_EXTENSION_BYTES_MAX,
  ChunkedDecoder,
  ChunkedError,
  TRAILER_BYTES_MAX,
} from "./chunked.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Decodes `text` fed `step` bytes at a time into a target of `size`; returns the state. */
function decode(text: string, options: { size?: number; step?: number } = {}) {
  const src = encoder.encode(text);
  const target = new Uint8Array(options.size ?? 1024);
  const chunked = new ChunkedDecoder(target);
  const step = options.step ?? src.length;
  let stop = 0;
  for (let i = 0; i < src.length && !chunked.done; i += step) {
    stop = chunked.feed(src, stop, Math.min(src.length, i + step));
  }
  return {
    done: chunked.done,
    stop,
    body: decoder.decode(target.subarray(0, chunked.lengthBytes)),
  };
}

/** Asserts that decoding `text` throws ChunkedError `status`. */
function refused(text: string, status: number, what: string, size = 1024): void {
  assert.throws(() => decode(text, { size }), (error: unknown) => {
    if (!(error instanceof ChunkedError)) return false;
    assert.equal(error.status, status, what);
    return true;
  });
}

Deno.test("chunked: sizes in hex, any split, stops at the body's end", () => {
  const text = "5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\nNEXT";
  for (const step of [1, 2, 3, 7, text.length]) {
    const out = decode(text, { step });
    assert.equal(out.done, true, `step ${step}`);
    assert.equal(out.body, "hello0123456789");
    assert.equal(out.stop, text.length - 4, "the next request's bytes stay unread");
  }
  assert.equal(decode("0\r\n\r\n").body, "");
  assert.equal(decode("00000003\r\nabc\r\n0\r\n\r\n").body, "abc", "8 digits with zeros");
  assert.equal(decode("f\r\n" + "x".repeat(15) + "\r\n0\r\n\r\n").body.length, 15);
});

Deno.test("chunked: extensions and trailers are read and dropped", () => {
  const out = decode('3;name=value;q="x y"\r\nabc\r\n0;last\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n', {
    step: 2,
  });
  assert.equal(out.done, true);
  assert.equal(out.body, "abc");
  assert.equal(decode("3 ;ext\r\nabc\r\n0\r\n\r\n").body, "abc", "BWS before ;");
});

Deno.test("chunked: truncation leaves it not done", () => {
  for (const cut of ["3\r\nab", "3\r\nabc\r\n", "3\r\nabc\r\n0\r\n", "3\r\nabc\r\n0\r\nX: 1\r\n"]) {
    assert.equal(decode(cut).done, false, JSON.stringify(cut));
  }
});

Deno.test("chunked: malformed framing is 400", () => {
  refused("g\r\nabc\r\n0\r\n\r\n", 400, "not hex");
  refused("\r\nabc\r\n", 400, "no size");
  refused("123456789\r\n", 400, "9 hex digits");
  refused("3\nabc\r\n0\r\n\r\n", 400, "bare LF after size");
  refused("3\r\nabcd\r\n0\r\n\r\n", 400, "data longer than its size");
  refused("3\r\nabc\n0\r\n\r\n", 400, "bare LF after data");
  refused("3\r\nabc\r\n0\r\n\n", 400, "bare LF at the end");
  refused("3\r\nabc\r\n0\r\nX: 1\n\r\n", 400, "bare LF in trailers");
  refused("3x\r\nabc\r\n0\r\n\r\n", 400, "junk after size");
  refused("3;a\x00b\r\nabc\r\n0\r\n\r\n", 400, "NUL in an extension");
  refused(`3;${"e".repeat(CHUNK_EXTENSION_BYTES_MAX)}\r\nabc\r\n0\r\n\r\n`, 400, "long extension");
  refused(`0\r\nX: ${"t".repeat(TRAILER_BYTES_MAX)}\r\n\r\n`, 400, "long trailers");
});

Deno.test("chunked: a body longer than the target is 413 before its data is copied", () => {
  refused("5\r\nhello\r\n0\r\n\r\n", 413, "5 into 4", 4);
  refused("2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", 413, "2 + 3 into 4", 4);
  refused("ffffffff\r\n", 413, "4 GiB");
  assert.equal(decode("4\r\nhell\r\n0\r\n\r\n", { size: 4 }).body, "hell", "exactly full");
});

Deno.test("chunked: streaming mode stops when the output view is full and resumes", () => {
  const src = encoder.encode("a\r\n0123456789\r\n0\r\n\r\n");
  const chunked = new ChunkedDecoder(new Uint8Array(0), { bounded: false });
  let out = "";
  let stop = 0;
  for (let pass = 0; pass < 10 && !chunked.done; pass++) {
    const view = new Uint8Array(4);
    chunked.retarget(view);
    stop = chunked.feed(src, stop, src.length);
    out += decoder.decode(view.subarray(0, chunked.lengthBytes));
  }
  assert.equal(chunked.done, true);
  assert.equal(out, "0123456789");
  assert.equal(stop, src.length);
});

Deno.test("chunked: random mutations either decode within the target or throw ChunkedError", () => {
  const valid = encoder.encode("5;a=b\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
  let seed = 7;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const interesting = [0, 9, 10, 13, 32, 59, 0x30, 0x39, 0x46, 0x66, 0x7f, 0xff];
  for (let round = 0; round < 20_000; round++) {
    const bytes = valid.slice();
    for (let m = 0; m < 1 + Math.floor(next() * 3); m++) {
      bytes[Math.floor(next() * bytes.length)] = interesting[Math.floor(next() * 12)];
    }
    const target = new Uint8Array(8);
    const chunked = new ChunkedDecoder(target);
    try {
      const stop = chunked.feed(bytes, 0, bytes.length);
      assert.ok(stop <= bytes.length);
      assert.ok(chunked.lengthBytes <= target.length);
    } catch (error) {
      if (!(error instanceof ChunkedError)) throw error;
    }
  }
});
