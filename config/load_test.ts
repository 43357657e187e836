import assert from "@std/assert";
import { ConfigError } from "./config_error.ts";
import { loadConfig, type LoadConfigOptions } from "./load.ts";

/** No environment and no files unless a test gives them. */
const NONE: LoadConfigOptions = {
  env: {},
  readFile: (path) => {
    throw new Deno.errors.NotFound(`No such file: ${path}`);
  },
};

function filesOf(files: Record<string, string>): (path: string) => string {
  return (path) => {
    if (!Object.hasOwn(files, path)) throw new Deno.errors.NotFound(`No such file: ${path}`);
    return files[path];
  };
}

/** The error lines loadConfig throws for `args` (fails when it does not throw). */
function errorLines(args: string[], options: LoadConfigOptions = NONE): readonly string[] {
  try {
    loadConfig(args, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(args)}`);
}

Deno.test("defaults when nothing is given, frozen", () => {
  const config = loadConfig([], NONE);
  assert.deepEqual({ ...config }, {
    port: 8443,
    hostname: "127.0.0.1",
    dataDir: "./data",
    poolBytes: null,
    profile: "rpc",
    store: "sqlite",
    cert: undefined,
    key: undefined,
    plaintextPort: null,
    rpcTimeoutMsMax: 30000,
    tokensFile: undefined,
    publicRead: false,
    logLevel: "info",
    shutdownTimeoutMs: 10000,
    corsOrigins: [],
    cacheControl: "private, no-cache",
    compressMinBytes: 1024,
    dryRun: false,
    help: false,
    configFile: undefined,
  });
  assert.ok(Object.isFrozen(config));
});

Deno.test("every flag, in both --flag value and --flag=value forms", () => {
  const config = loadConfig([
    "--port",
    "9443",
    "--hostname=::1",
    "--data-dir",
    "/tmp/wn",
    "--pool-bytes=64MiB",
    "--profile",
    "bulk",
    "--store",
    "postgres://worknode:worknode@127.0.0.1:5432/worknode",
    "--cert=c.pem",
    "--key",
    "k.pem",
    "--plaintext-port",
    "8080",
    "--rpc-timeout-ms-max",
    "5000",
    "--tokens-file",
    "tokens.txt",
    "--log-level=debug",
    "--dry-run",
  ], NONE);
  assert.equal(config.port, 9443);
  assert.equal(config.hostname, "::1");
  assert.equal(config.dataDir, "/tmp/wn");
  assert.equal(config.poolBytes, 67108864);
  assert.equal(config.profile, "bulk");
  assert.equal(config.store, "postgres://worknode:worknode@127.0.0.1:5432/worknode");
  assert.equal(config.cert, "c.pem");
  assert.equal(config.key, "k.pem");
  assert.equal(config.plaintextPort, 8080);
  assert.equal(config.rpcTimeoutMsMax, 5000);
  assert.equal(config.tokensFile, "tokens.txt");
  assert.equal(config.logLevel, "debug");
  assert.equal(config.dryRun, true);
});

Deno.test("precedence: flag over env over config file over default", () => {
  const file = JSON.stringify({
    port: 7000,
    hostname: "0.0.0.0",
    profile: "bulk",
    poolBytes: "8MiB",
  });
  const options: LoadConfigOptions = {
    env: { WORKNODE_PORT: "7100", WORKNODE_HOSTNAME: "localhost", WORKNODE_CONFIG: "wn.json" },
    readFile: filesOf({ "wn.json": file }),
  };
  const config = loadConfig(["--port", "7200"], options);
  assert.equal(config.port, 7200, "flag beats env and file");
  assert.equal(config.hostname, "localhost", "env beats file");
  assert.equal(config.profile, "bulk", "file beats default");
  assert.equal(config.poolBytes, 8 * 1024 * 1024);
  assert.equal(config.dataDir, "./data", "default");
  assert.equal(config.configFile, "wn.json");
  // --config beats WORKNODE_CONFIG; an empty env variable counts as unset.
  const other = loadConfig(["--config", "other.json"], {
    env: { WORKNODE_CONFIG: "wn.json", WORKNODE_PORT: "" },
    readFile: filesOf({ "wn.json": file, "other.json": '{"port": 7300}' }),
  });
  assert.equal(other.port, 7300);
  assert.equal(other.profile, "rpc");
});

Deno.test("every env variable maps to its option", () => {
  const config = loadConfig([], {
    env: {
      WORKNODE_PORT: "1",
      WORKNODE_HOSTNAME: "example.internal",
      WORKNODE_DATA_DIR: "d",
      WORKNODE_POOL_BYTES: "512KiB",
      WORKNODE_PROFILE: "bulk",
      WORKNODE_STORE: "postgresql://u@db/x",
      WORKNODE_CERT: "c",
      WORKNODE_KEY: "k",
      WORKNODE_PLAINTEXT_PORT: "0",
      WORKNODE_RPC_TIMEOUT_MS_MAX: "600000",
      WORKNODE_TOKENS_FILE: "t",
      WORKNODE_LOG_LEVEL: "error",
    },
  });
  assert.deepEqual(
    [config.port, config.hostname, config.dataDir, config.poolBytes, config.profile],
    [1, "example.internal", "d", 524288, "bulk"],
  );
  assert.deepEqual(
    [config.store, config.cert, config.key, config.plaintextPort, config.rpcTimeoutMsMax],
    ["postgresql://u@db/x", "c", "k", 0, 600000],
  );
  assert.deepEqual([config.tokensFile, config.logLevel], ["t", "error"]);
});

Deno.test("every invalid value gives its own line, all at once", () => {
  const lines = errorLines([
    "--port=70000",
    "--hostname",
    "http://x/",
    "--data-dir=",
    "--pool-bytes",
    "3GB",
    "--profile",
    "fast",
    "--store",
    "mysql://x",
    "--plaintext-port",
    "-1",
    "--rpc-timeout-ms-max",
    "0",
    "--tokens-file=",
    "--log-level",
    "trace",
  ]);
  assert.deepEqual(lines, [
    'Cannot use --port "70000": must be an integer in 0..65535',
    'Cannot use --hostname "http://x/": must be a host name or IP address such as ' +
    "127.0.0.1, ::1 or localhost",
    'Cannot use --data-dir "": must be a non-empty path of at most 4096 characters',
    'Cannot use --pool-bytes "3GB": "3GB" is not a byte size like 64MiB, 1GiB or 4096',
    'Cannot use --profile "fast": must be one of rpc, bulk',
    'Cannot use --store "mysql://x": must be "sqlite" or a postgres://user:pass@host:port/db URL',
    'Cannot use --plaintext-port "-1": must be an integer in 0..65535',
    'Cannot use --rpc-timeout-ms-max "0": must be an integer in 1..600000',
    'Cannot use --tokens-file "": must be a non-empty path of at most 4096 characters',
    'Cannot use --log-level "trace": must be one of debug, info, warn, error',
  ]);
});

Deno.test("out-of-range pool bytes and store URLs without a host", () => {
  assert.deepEqual(errorLines(["--pool-bytes", "65GiB", "--store", "postgres://"]), [
    'Cannot use --pool-bytes "65GiB": must be between 1 byte and 64GiB (or "auto")',
    'Cannot use --store "postgres://": must be "sqlite" or a postgres://user:pass@host:port/db URL',
  ]);
  assert.deepEqual(errorLines(["--pool-bytes", "0"]), [
    'Cannot use --pool-bytes "0": must be between 1 byte and 64GiB (or "auto")',
  ]);
  assert.equal(loadConfig(["--pool-bytes", "auto"], NONE).poolBytes, null);
});

Deno.test("argument errors: unknown, positional, missing value, repeated, switch with value", () => {
  assert.deepEqual(errorLines(["--prot", "1", "--port", "--dry-run=yes", "--hostname"]), [
    'Unknown option "--prot" (see --help)',
    'Unexpected argument "1": options start with --',
    "Cannot use --port: it needs a value",
    "Cannot use --dry-run: it takes no value",
    "Cannot use --hostname: it needs a value",
  ]);
  assert.deepEqual(errorLines(["--port", "1", "--port=2"]), ["Cannot use --port twice"]);
  assert.equal(errorLines(Array(300).fill("--dry-run")).length, 1);
});

Deno.test("cross checks: cert and key together, plaintext port differs", () => {
  const both = "Cannot use --cert without --key (or --key without --cert): give both or neither";
  assert.deepEqual(errorLines(["--cert", "c.pem"]), [both]);
  assert.deepEqual(errorLines([], { env: { WORKNODE_KEY: "k.pem" } }), [both]);
  assert.deepEqual(errorLines(["--port", "8000", "--plaintext-port", "8000"]), [
    "Cannot use --plaintext-port 8000: it is also --port",
  ]);
  // Port 0 means "any free port" for both, so they never clash.
  assert.equal(loadConfig(["--port", "0", "--plaintext-port", "0"], NONE).plaintextPort, 0);
});

Deno.test("env errors name the variable; file errors name the file and key", () => {
  assert.deepEqual(errorLines([], { env: { WORKNODE_PORT: "http" } }), [
    'Cannot use WORKNODE_PORT="http": must be an integer in 0..65535',
  ]);
  const readFile = filesOf({
    "bad.json": JSON.stringify({ port: "x", colour: "red", store: ["x"], plaintextPort: null }),
    "array.json": "[1, 2]",
    "broken.json": "{ port: 1",
  });
  assert.deepEqual(errorLines(["--config", "bad.json"], { env: {}, readFile }), [
    'Unknown key "colour" in config file bad.json (see --help)',
    'Cannot use "store" in bad.json: must be a string, a number or a boolean',
    'Cannot use "port" in bad.json = "x": must be an integer in 0..65535',
  ]);
  assert.deepEqual(errorLines(["--config", "array.json"], { env: {}, readFile }), [
    "Cannot read config file array.json: it must hold a JSON object",
  ]);
  const broken = errorLines(["--config", "broken.json"], { env: {}, readFile });
  assert.equal(broken.length, 1);
  assert.match(broken[0], /^Cannot read config file broken\.json: /);
  assert.deepEqual(errorLines(["--config", "missing.json"], { env: {}, readFile }), [
    "Cannot read config file missing.json: No such file: missing.json",
  ]);
});

Deno.test("a real config file on disk is read by default", () => {
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  try {
    Deno.writeTextFileSync(path, JSON.stringify({ port: 9000, poolBytes: 33554432 }));
    const config = loadConfig(["--config", path], { env: {} });
    assert.equal(config.port, 9000);
    assert.equal(config.poolBytes, 33554432);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("help switches are recorded", () => {
  assert.equal(loadConfig(["--help"], NONE).help, true);
  assert.equal(loadConfig(["-h"], NONE).help, true);
});

Deno.test("--public-read alone means true; a value, the env and the file also set it", () => {
  assert.equal(loadConfig(["--public-read"], NONE).publicRead, true);
  assert.equal(loadConfig(["--public-read", "--port", "1"], NONE).publicRead, true);
  assert.equal(loadConfig(["--public-read=false"], NONE).publicRead, false);
  assert.equal(loadConfig([], { env: { WORKNODE_PUBLIC_READ: "yes" } }).publicRead, true);
  const fromFile = loadConfig(["--config", "c.json"], {
    env: {},
    readFile: () => '{"publicRead": true, "shutdownTimeoutMs": 2500}',
  });
  assert.deepEqual([fromFile.publicRead, fromFile.shutdownTimeoutMs], [true, 2500]);
  assert.throws(() => loadConfig(["--public-read=maybe"], NONE), /must be true or false/);
  assert.throws(() => loadConfig(["--shutdown-timeout-ms", "-1"], NONE), /0\.\.600000/);
});

Deno.test("--cors-origin repeats; the env lists origins; the file takes a list or a string", () => {
  const flags = loadConfig(
    ["--cors-origin", "https://app.example.com", "--cors-origin=http://localhost:3000"],
    NONE,
  );
  assert.deepEqual(flags.corsOrigins, ["https://app.example.com", "http://localhost:3000"]);
  const env = loadConfig([], {
    env: { WORKNODE_CORS_ORIGIN: "https://a.example, https://b.example:8443" },
  });
  assert.deepEqual(env.corsOrigins, ["https://a.example", "https://b.example:8443"]);
  const file = (text: string) =>
    loadConfig(["--config", "c.json"], { env: {}, readFile: () => text }).corsOrigins;
  assert.deepEqual(file('{"corsOrigins": ["https://a.example", "https://b.example"]}'), [
    "https://a.example",
    "https://b.example",
  ]);
  assert.deepEqual(file('{"corsOrigins": "https://a.example"}'), ["https://a.example"]);
  assert.deepEqual(file('{"corsOrigins": null}'), []);
  // Matching is byte for byte: only the serialized form a browser sends is accepted.
  for (const bad of ["https://a.example/", "HTTPS://A.example", "https://a.example:443", "*"]) {
    assert.throws(() => loadConfig(["--cors-origin", bad], NONE), /not an origin/, bad);
  }
  assert.throws(
    () => loadConfig(["--config", "c.json"], { env: {}, readFile: () => '{"corsOrigins": [1]}' }),
    /a list of strings/,
  );
  assert.throws(() => loadConfig(["--port", "1", "--port", "2"], NONE), /--port twice/);
});

Deno.test("--cache-control and --compress-min-bytes", () => {
  const config = loadConfig(
    ["--cache-control", "public, max-age=60", "--compress-min-bytes", "4KiB"],
    NONE,
  );
  assert.equal(config.cacheControl, "public, max-age=60");
  assert.equal(config.compressMinBytes, 4096);
  assert.equal(loadConfig(["--compress-min-bytes=off"], NONE).compressMinBytes, null);
  assert.equal(
    loadConfig([], { env: { WORKNODE_COMPRESS_MIN_BYTES: "0" } }).compressMinBytes,
    0,
  );
  assert.throws(() => loadConfig(["--cache-control", "no\ncache"], NONE), /visible ASCII/);
  assert.throws(() => loadConfig(["--compress-min-bytes", "soon"], NONE), /byte size/);
});
