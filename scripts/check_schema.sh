#!/usr/bin/env bash
# Fails (exit 1) when the committed generated codecs differ from a fresh generation: regenerates
# schema/*_capnp.ts and capnp/testdata/*_capnp.ts into a temporary directory and diffs.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-deno}"
command -v "$DENO" >/dev/null 2>&1 || DENO="$PWD/.tools/node_modules/.bin/deno"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gen() { "$DENO" run --allow-run --allow-read --allow-write --allow-env capnp/gen/generate.ts "$@"; }
gen --out "$tmp/schema" schema/annotations.capnp schema/rpc.capnp schema/worknode.capnp \
  schema/sheaf.capnp schema/system.capnp >/dev/null
gen --out "$tmp/testdata" --runtime ../ capnp/testdata/nest.capnp >/dev/null
status=0
for fresh in "$tmp"/schema/*_capnp.ts; do
  diff -u "schema/$(basename "$fresh")" "$fresh" || status=1
done
for fresh in "$tmp"/testdata/*_capnp.ts; do
  diff -u "capnp/testdata/$(basename "$fresh")" "$fresh" || status=1
done
for committed in schema/*_capnp.ts capnp/testdata/*_capnp.ts; do
  dir="schema"
  [[ "$committed" == capnp/testdata/* ]] && dir="testdata"
  [ -f "$tmp/$dir/$(basename "$committed")" ] || { echo "stale: $committed"; status=1; }
done
if [ "$status" -ne 0 ]; then
  echo "schema-fresh: generated code is out of date; run: deno task schema"
  exit 1
fi
echo "schema-fresh: generated code is up to date"
