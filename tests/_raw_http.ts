/**
 * Raw HTTP/1.1 over TCP for tests that must control exactly which body bytes are sent (a body
 * never sent, a body cut off mid-way).
 *
 * @module
 */

/** A parsed raw response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
  /** The body's bytes as received (binary responses). */
  readonly bodyBytes: Uint8Array;
}

const encoder = new TextEncoder();

/** Builds a POST head with `Connection: close` and the given extra headers. */
export function postHead(path: string, headers: Record<string, string>): string {
  const lines = [`POST ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Whether `bytes` hold a whole response: the head and Content-Length bytes of body. */
function complete(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const match = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split));
  if (match === null) return false;
  return bytes.length >=
    new TextEncoder().encode(text.slice(0, split + 4)).length + Number(match[1]);
}

/**
 * Reads one response (bounded to 1 MiB): until its Content-Length is complete or the server
 * closes. The server may keep the connection open when it answered without reading the body.
 */
export async function readRawResponse(conn: Deno.Conn): Promise<RawResponse> {
  let all = new Uint8Array(0);
  const buf = new Uint8Array(16384);
  while (all.length < 1 << 20 && !complete(all)) {
    const n = await conn.read(buf);
    if (n === null) break;
    const next = new Uint8Array(all.length + n);
    next.set(all);
    next.set(buf.subarray(0, n), all.length);
    all = next;
  }
  const text = new TextDecoder().decode(all);
  const split = text.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const headBytes = new TextEncoder().encode(text.slice(0, split + 4)).length;
  return {
    status: Number(statusLine.split(" ")[1]),
    headers,
    body: text.slice(split + 4),
    bodyBytes: all.slice(headBytes),
  };
}

/** Sends `head` (and optional body bytes) on a new connection and reads the whole response. */
export async function rawPost(
  port: number,
  head: string,
  body: Uint8Array = new Uint8Array(0),
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(head));
    if (body.length > 0) await conn.write(body);
    return await readRawResponse(conn);
  } finally {
    conn.close();
  }
}
