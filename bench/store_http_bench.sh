#!/usr/bin/env bash
# HTTP/1.1 req/s of worknode.get and worknode.update on each store, next to system.echo, with
# wrk (-t1 -c32, JSON wire). Runs alternate between methods, ROUNDS times, because the noise
# between runs on a shared 2-core box is ±15% (DESIGN.md); compare the medians.
#   bash bench/store_http_bench.sh [ROUNDS] [SECONDS]
# Needs WORKNODE_TEST_PG_URL (scripts/ensure_deps.sh) and native/build/libpool.so.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-$PWD/.tools/node_modules/.bin/deno}"
rounds="${1:-3}"
seconds="${2:-5}"
count=1000 # worknodes per run; the server holds count x rounds
: "${WORKNODE_TEST_PG_URL:?set WORKNODE_TEST_PG_URL (see scripts/ensure_deps.sh)}"

for store in sqlite "$WORKNODE_TEST_PG_URL"; do
  name="sqlite"; [ "$store" = sqlite ] || name="postgres"
  out="$(mktemp)"
  "$DENO" run -A --unstable-net bench/store_http_server.ts "$store" "$((count * rounds))" >"$out" &
  server=$!
  for _ in $(seq 1 1200); do
    grep -q port "$out" && break
    kill -0 "$server" 2>/dev/null || { echo "bench server for $name exited" >&2; exit 1; }
    sleep 0.1
  done
  port="$(sed -E 's/.*"port":([0-9]+).*/\1/' "$out" | head -1)"
  for round in $(seq 1 "$rounds"); do
    for method in echo get update; do
      result="$(WN_METHOD=$method WN_COUNT=$count WN_OFFSET=$(((round - 1) * count)) wrk -t1 -c32 -d"${seconds}s" \
        -s bench/store_http.lua "http://127.0.0.1:$port" 2>&1)"
      rps="$(echo "$result" | awk '/Requests\/sec/ {print $2}')"
      non2xx="$(echo "$result" | awk '/Non-2xx/ {print $5}')"
      latency="$(echo "$result" | awk '/Latency/ {print $2}')"
      echo "$name round $round $method: ${rps} req/s, avg latency ${latency}, non-2xx ${non2xx:-0}, load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
  kill -TERM "$server"
  wait "$server" || true
  rm -f "$out"
done
