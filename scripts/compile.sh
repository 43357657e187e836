#!/usr/bin/env bash
# `deno task compile`: builds one executable (default dist/worknode) holding the service, its npm
# dependencies and native/build/libpool.so, with the permissions of `deno task start` baked in.
#
# `deno compile` joins the program to a "denort" runtime binary, which it normally downloads.
# Where that download cannot happen (no internet), point DENORT_BIN at a local denort binary of
# the same Deno version. Environment:
#   DENO             the deno binary (default: deno on PATH, else .tools/node_modules/.bin/deno)
#   DENORT_BIN       a local denort binary (read by deno compile itself)
#   WORKNODE_OUTPUT  the executable's path (default: dist/worknode)
set -euo pipefail
cd "$(dirname "$0")/.."

DENO="${DENO:-deno}"
command -v "$DENO" >/dev/null 2>&1 || DENO="$PWD/.tools/node_modules/.bin/deno"
OUTPUT="${WORKNODE_OUTPUT:-dist/worknode}"

# The executable gets exactly the --allow-* and --v8-flags= flags of `deno task start` (read from
# deno.json, so the two cannot drift apart): the data directory, certificates, /proc and cgroup
# files; sockets; FFI for libpool; WORKNODE_* variables; memory info; openssl for development
# certificates; and the V8 young generation's bound (docs/design.md, "Memory outside the pool").
mapfile -t PERMISSIONS < <("$DENO" eval --quiet '
  const task = JSON.parse(Deno.readTextFileSync("deno.json")).tasks.start;
  const command = typeof task === "string" ? task : task.command;
  for (const word of command.split(/\s+/)) {
    if (word.startsWith("--allow-") || word.startsWith("--v8-flags=")) console.log(word);
  }
')
if [ "${#PERMISSIONS[@]}" -eq 0 ]; then
  echo "compile: found no --allow-* flags in the start task of deno.json" >&2
  exit 2
fi

if [ "${1:-}" = "--print-permissions" ]; then
  echo "${PERMISSIONS[@]}"
  exit 0
fi

if [ -z "${DENORT_BIN:-}" ]; then
  echo "compile: DENORT_BIN is not set; deno compile will try to download its denort runtime" >&2
elif [ ! -x "$DENORT_BIN" ]; then
  echo "compile: DENORT_BIN=$DENORT_BIN is not an executable file" >&2
  exit 2
elif "$DENORT_BIN" --version 2>/dev/null | grep -q '^deno '; then
  # deno compile accepts the full deno CLI here without complaint, but the result ignores the
  # embedded program and starts Deno's REPL: refuse it rather than build a broken executable.
  echo "compile: DENORT_BIN=$DENORT_BIN is the deno CLI, not a denort runtime" >&2
  exit 2
fi

# Only the npm packages main.ts reaches: deno compile would otherwise embed all of node_modules/,
# test tools included (scripts/compile_excludes.ts).
excluded="$("$DENO" run --quiet --allow-run --allow-read scripts/compile_excludes.ts main.ts)"
EXCLUDES=()
while IFS= read -r path; do
  if [ -n "$path" ]; then EXCLUDES+=(--exclude "$path"); fi
done <<<"$excluded"

make -s -C native
mkdir -p "$(dirname "$OUTPUT")"

# --include keeps libpool.so at native/build/libpool.so relative to pool/ffi.ts inside the
# executable; pool/embedded_library.ts copies it out to a real file before dlopen.
if ! "$DENO" compile --quiet --unstable-net "${PERMISSIONS[@]}" --no-prompt \
  --include native/build/libpool.so "${EXCLUDES[@]}" --output "$OUTPUT" main.ts; then
  echo "compile: deno compile failed; without internet access set DENORT_BIN to a local" \
    "denort binary of Deno $("$DENO" eval --quiet 'console.log(Deno.version.deno)')" >&2
  exit 1
fi
echo "compile: built $OUTPUT"
