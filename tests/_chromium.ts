/**
 * Launches Debian's Chromium (never a downloaded browser) through playwright-core with the flags
 * that make it speak HTTP/3 to a local test server: QUIC forced for the origin, the test leaf
 * accepted by its SPKI hash, and every host name but localhost unresolvable.
 *
 * @module
 */

import { chromium } from "playwright-core";
import type { BrowserContext } from "playwright-core";
import { pipeThroughCommand } from "./_command.ts";

/** Debian's Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Options of {@link launchChromiumForH3}. */
export interface ChromiumH3Options {
  /** The QUIC port of `localhost`. */
  readonly port: number;
  /** PEM text of the server's leaf certificate (its SPKI hash is trusted). */
  readonly leafPem: string;
}

/**
 * Launches headless Chromium over TCP only (QUIC off): HTTP/2 or HTTP/1.1 as ALPN decides,
 * trusting the leaf certificate by its SPKI hash.
 *
 * @example
 * ```ts
 * const { context, close } = await launchChromiumTcp({ leafPem });
 * ```
 */
export async function launchChromiumTcp(
  options: { readonly leafPem: string },
): Promise<ChromiumH3> {
  return await launchWith([
    "--disable-quic",
    `--ignore-certificate-errors-spki-list=${await spkiHashBase64(options.leafPem)}`,
  ]);
}

/** Chromium with the flags every launch needs (docs/design.md), plus `extra`. */
async function launchWith(extra: readonly string[]): Promise<ChromiumH3> {
  const profileDir = await Deno.makeTempDir({ prefix: "chromium-" });
  let context: BrowserContext;
  try {
    // Playwright wants the fresh profile directory here rather than as --user-data-dir.
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP localhost 127.0.0.1, MAP * ~NOTFOUND",
        ...extra,
      ],
    });
  } catch (error) {
    await Deno.remove(profileDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    context,
    async close() {
      await context.close();
      await Deno.remove(profileDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A launched browser (its persistent context) and its fresh profile, removed by `close`. */
export interface ChromiumH3 {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * The base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's
 * `--ignore-certificate-errors-spki-list` wants it (computed by openssl).
 *
 * @example
 * ```ts
 * const spki = await spkiHashBase64(await Deno.readTextFile("leaf.pem"));
 * ```
 */
export async function spkiHashBase64(leafPem: string): Promise<string> {
  const run = (args: string[], input: Uint8Array) => pipeThroughCommand("openssl", args, input);
  const pub = await run(["x509", "-pubkey", "-noout"], new TextEncoder().encode(leafPem));
  const der = await run(["pkey", "-pubin", "-outform", "DER"], pub);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return btoa(String.fromCharCode(...digest));
}

/**
 * Launches headless Chromium that reaches `localhost:<port>` over HTTP/3 only.
 *
 * @example
 * ```ts
 * const { context, close } = await launchChromiumForH3({ port, leafPem });
 * const page = await context.newPage();
 * await page.goto(`https://localhost:${port}/`);
 * await close();
 * ```
 */
export async function launchChromiumForH3(options: ChromiumH3Options): Promise<ChromiumH3> {
  return await launchWith([
    "--enable-quic",
    `--origin-to-force-quic-on=localhost:${options.port}`,
    `--ignore-certificate-errors-spki-list=${await spkiHashBase64(options.leafPem)}`,
  ]);
}
