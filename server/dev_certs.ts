/**
 * Development certificates: a private CA and a LEAF certificate it signs (CA:FALSE, SAN
 * localhost/127.0.0.1/::1, EC P-256), generated with the `openssl` CLI under `<dataDir>/certs/`
 * on first start and reused after. A QUIC server needs the leaf as its end-entity certificate
 * (a CA used as the end entity is refused); clients trust the CA (`--ca <dataDir>/certs/ca.pem`).
 *
 * @module
 */

import { join } from "node:path";

/** Paths of the development CA and leaf (all PEM). */
export interface DevCertificates {
  readonly caPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** True when this call created them, false when they were reused. */
  readonly generated: boolean;
}

/** Days the leaf stays valid (browsers refuse leaves valid for more than 398 days). */
const LEAF_VALIDITY_DAYS = 397;
/** Days the CA stays valid. */
const CA_VALIDITY_DAYS = 3650;

const LEAF_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=serverAuth",
  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
  "subjectKeyIdentifier=hash",
  "authorityKeyIdentifier=keyid,issuer",
].join("\n");

/** Runs openssl with `args` in `cwd`; throws naming the directory, with openssl's stderr. */
async function openssl(args: readonly string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", {
      args: [...args],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(
      `Cannot generate certificates in ${cwd}: openssl cannot run: ${reasonOf(error)}`,
      { cause: error },
    );
  }
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n")[0];
    throw new Error(`Cannot generate certificates in ${cwd}: openssl ${args[0]} failed: ${stderr}`);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/** Runs a file step, naming `path` in the error when it fails. */
async function onFile<T>(path: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new Error(`Cannot ${what} ${path}: ${reasonOf(error)}`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new Error(`Cannot read certificate file ${path}: ${reasonOf(error)}`, { cause: error });
  }
}

/**
 * Returns the development certificates under `<dataDir>/certs/`, generating them first if any
 * of the CA, leaf or leaf key is missing.
 *
 * @example
 * ```ts
 * const certs = await ensureDevCertificates("./data");
 * console.log(certs.caPath);
 * ```
 */
export async function ensureDevCertificates(dataDir: string): Promise<DevCertificates> {
  const dir = join(dataDir, "certs");
  const caPath = join(dir, "ca.pem");
  const certPath = join(dir, "leaf.pem");
  const keyPath = join(dir, "leaf.key");
  const present = await Promise.all([caPath, certPath, keyPath].map(exists));
  if (present.every(Boolean)) return { caPath, certPath, keyPath, generated: false };
  await onFile(
    dir,
    "create certificates directory",
    () => Deno.mkdir(dir, { recursive: true, mode: 0o700 }),
  );
  const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await openssl(["genpkey", ...ec, "-out", "ca.key"], dir);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-sha256",
    "-days",
    String(CA_VALIDITY_DAYS),
    "-subj",
    "/CN=worknode development CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    "ca.pem",
  ], dir); // deno-fmt-ignore
  await openssl(["genpkey", ...ec, "-out", "leaf.key"], dir);
  await openssl(
    ["req", "-new", "-key", "leaf.key", "-subj", "/CN=localhost", "-out", "leaf.csr"],
    dir,
  );
  const extPath = join(dir, "leaf.ext");
  await onFile(extPath, "write", () => Deno.writeTextFile(extPath, LEAF_EXTENSIONS + "\n"));
  await openssl([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    String(LEAF_VALIDITY_DAYS),
    "-sha256",
    "-extfile",
    "leaf.ext",
    "-out",
    "leaf.pem",
  ], dir); // deno-fmt-ignore
  for (const key of [join(dir, "ca.key"), keyPath]) {
    await onFile(key, "set mode 0600 on", () => Deno.chmod(key, 0o600));
  }
  const csrPath = join(dir, "leaf.csr");
  await onFile(csrPath, "remove", () => Deno.remove(csrPath));
  return { caPath, certPath, keyPath, generated: true };
}
