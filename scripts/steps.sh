# Sourced by the long-run scripts (stress.sh, stress_fuzz.sh): run named steps, count them, and
# end with the plain summary line "N passed, M failed".
#   step NAME COMMAND...   runs COMMAND, prints "=== NAME" before and its duration after
#   steps_summary          prints the summary; its status is 0 only when no step failed
passed=0
failed=0

step() {
  local name="$1"
  shift
  echo "=== $name"
  local started=$SECONDS
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
  echo "=== $name: $((SECONDS - started)) s"
}

steps_summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
