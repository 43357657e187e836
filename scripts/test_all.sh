#!/usr/bin/env bash
# Runs every suite of the project and prints one plain summary line, "N passed, N failed", last.
# A suite is a command; its own pass/fail counts are read from its output when it prints them
# (Deno's "ok | N passed | M failed" line, or our C tests' "N passed, M failed" lines), and
# otherwise the suite counts as one check that passed or failed by its exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
DENO="${DENO:-deno}"
command -v "$DENO" >/dev/null 2>&1 || DENO="$PWD/.tools/node_modules/.bin/deno"
export DENO
mkdir -p .test-artifacts

passed_total=0
failed_total=0
skipped_total=0
failed_suites=()

# run_suite NAME COMMAND...: runs one suite, echoing its output, and adds up its counts.
run_suite() {
  local name="$1"
  shift
  local log=".test-artifacts/suite-${name//[^a-zA-Z0-9_-]/_}.log"
  echo "=== suite: $name"
  "$@" 2>&1 | tee "$log"
  local rc="${PIPESTATUS[0]}"
  local p=0 f=0 found=0
  # Deno: "ok | 12 passed (3 steps) | 0 failed" or "FAILED | 11 passed | 1 failed".
  local deno_line
  deno_line="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -1)"
  if [ -n "$deno_line" ]; then
    p="$(echo "$deno_line" | sed -E 's/.*\| ([0-9]+) passed.*/\1/')"
    f="$(echo "$deno_line" | sed -E 's/.*\| ([0-9]+) failed.*/\1/')"
    if echo "$deno_line" | grep -qE '\| [0-9]+ ignored'; then
      skipped_total=$((skipped_total + $(echo "$deno_line" | sed -E 's/.*\| ([0-9]+) ignored.*/\1/')))
    fi
    found=1
  else
    # C tests: one "N passed, M failed" line per test binary.
    local line
    while IFS= read -r line; do
      p=$((p + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
      f=$((f + $(echo "$line" | sed -E 's/.*, ([0-9]+) failed.*/\1/')))
      found=1
    done < <(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log")
  fi
  if [ "$found" -eq 0 ]; then
    if [ "$rc" -eq 0 ]; then p=1; else f=1; fi
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # The suite printed counts but still failed (a crash after its summary, a sanitizer report).
    f=1
  fi
  passed_total=$((passed_total + p))
  failed_total=$((failed_total + f))
  [ "$f" -ne 0 ] && failed_suites+=("$name")
  echo "=== suite $name: $p passed, $f failed (exit $rc)"
}

run_suite fmt "$DENO" fmt --check
run_suite lint "$DENO" lint
run_suite check "$DENO" check --unstable-net .
[ -f scripts/suites.sh ] && . scripts/suites.sh

if [ "${#failed_suites[@]}" -ne 0 ]; then
  echo "failed suites: ${failed_suites[*]}"
fi
if [ "$skipped_total" -ne 0 ]; then
  echo "$passed_total passed, $failed_total failed, $skipped_total skipped"
else
  echo "$passed_total passed, $failed_total failed"
fi
[ "$failed_total" -eq 0 ]
