#!/usr/bin/env bash
# Full-size stress runs (issue 7, items 2, 4, 5); figures go into docs/reliability.md.
#   STRESS_SECONDS  overload duration (default 30; CI runs the same test for 10 s)
# Starts PostgreSQL first (the fault test stops and restarts it). Each step prints its own
# figures; the last line is "N passed, M failed" over the steps.
set -u
cd "$(dirname "$0")/.."
. scripts/ensure_deps.sh
set +e
ensure_deno
ensure_postgres
export STRESS_SECONDS="${STRESS_SECONDS:-30}"
. scripts/steps.sh

for test in stress_overload stress_slow_clients stress_pg_fault; do
  step "$test (STRESS_SECONDS=$STRESS_SECONDS)" \
    "$DENO" test --unstable-net -A --no-prompt "tests/${test}_test.ts"
done
steps_summary
