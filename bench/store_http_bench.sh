#!/usr/bin/env bash
# HTTP/1.1 req/s of worknode.get and worknode.update on each store, next to system.echo, against
# the real service (main.ts: auth with the generated admin token, pool, plaintext HTTP/1.1), with
# wrk (-t1 -c32, JSON wire). Runs alternate between methods, ROUNDS times, because the noise
# between runs on a shared 2-core box is ±15% (DESIGN.md); compare the medians.
#   bash bench/store_http_bench.sh [ROUNDS] [SECONDS]
# Needs WORKNODE_TEST_PG_URL (scripts/ensure_deps.sh), wrk and native/build/libpool.so.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-$PWD/.tools/node_modules/.bin/deno}"
rounds="${1:-3}"
seconds="${2:-5}"
count=1000 # worknodes per round; the store holds count x rounds
: "${WORKNODE_TEST_PG_URL:?set WORKNODE_TEST_PG_URL (see scripts/ensure_deps.sh)}"
case "$WORKNODE_TEST_PG_URL" in *\?*) pg="$WORKNODE_TEST_PG_URL&schema=wn_http_bench" ;;
  *) pg="$WORKNODE_TEST_PG_URL?schema=wn_http_bench" ;; esac

for store in sqlite "$pg"; do
  name="sqlite"; [ "$store" = sqlite ] || name="postgres"
  dir="$(mktemp -d)"
  "$DENO" run -A bench/store_http_seed.ts "$store" "$dir" "$((count * rounds))"
  "$DENO" run -A --unstable-net main.ts --port 0 --plaintext-port 0 --data-dir "$dir" \
    --store "$store" --pool-bytes 64MiB --log-level warn >"$dir/out.log" 2>"$dir/err.log" &
  server=$!
  for _ in $(seq 1 600); do
    grep -q '"ready"' "$dir/out.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$dir/err.log" >&2; exit 1; }
    sleep 0.1
  done
  url="$(grep '"ready"' "$dir/out.log" | sed -E 's/.*"http":"([^"]+)".*/\1/')"
  token="$(cat "$dir/admin.token")"
  for round in $(seq 1 "$rounds"); do
    for method in echo get update; do
      result="$(WN_METHOD=$method WN_COUNT=$count WN_OFFSET=$(((round - 1) * count)) \
        WN_TOKEN="$token" wrk -t1 -c32 -d"${seconds}s" -s bench/store_http.lua "$url" 2>&1)"
      rps="$(echo "$result" | awk '/Requests\/sec/ {print $2}')"
      non2xx="$(echo "$result" | awk '/Non-2xx/ {print $5}')"
      latency="$(echo "$result" | awk '/Latency/ {print $2}')"
      echo "$name round $round $method: ${rps} req/s, avg latency ${latency}," \
        "non-2xx ${non2xx:-0}, load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
  kill -TERM "$server"
  wait "$server" || true
  [ "$name" = sqlite ] || "$DENO" run -A bench/store_http_seed.ts "$store" --drop
  rm -rf "$dir"
done
