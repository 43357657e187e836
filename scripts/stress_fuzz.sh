#!/usr/bin/env bash
# Full-size fuzzing runs (issue 7, item 3); figures go into docs/reliability.md.
#   FUZZ_CAPNP_COUNT  Cap'n Proto cases per seed (default 1,000,000)
#   FUZZ_H3_COUNT     HTTP/3 cases per family and seed (default 100,000)
#   FUZZ_H2_COUNT     HTTP/2 cases per family and seed (default 500,000: 1,000,000 in all)
#   FUZZ_SEEDS        space-separated seeds for the Deno fuzzers (default "20261126")
#   FUZZ_SECONDS      libFuzzer time on libpool (default 600), FUZZ_SEED its seed (default 1)
# Each step prints its own figures; the last line is "N passed, M failed" over the steps.
set -u
cd "$(dirname "$0")/.."
DENO="${DENO:-deno}"
command -v "$DENO" >/dev/null 2>&1 || DENO="$PWD/.tools/node_modules/.bin/deno"
export FUZZ_CAPNP_COUNT="${FUZZ_CAPNP_COUNT:-1000000}"
export FUZZ_H3_COUNT="${FUZZ_H3_COUNT:-100000}"
export FUZZ_H2_COUNT="${FUZZ_H2_COUNT:-500000}"
SEEDS="${FUZZ_SEEDS:-20261126}"
. scripts/steps.sh

for seed in $SEEDS; do
  step "capnp fuzz seed $seed ($FUZZ_CAPNP_COUNT cases)" env FUZZ_SEED="$seed" \
    "$DENO" test -A --no-prompt tests/fuzz_capnp_test.ts
  step "h3 fuzz seed $seed ($FUZZ_H3_COUNT cases per family)" env FUZZ_SEED="$seed" \
    "$DENO" test -A --no-prompt tests/fuzz_h3_test.ts
  step "h2 fuzz seed $seed ($FUZZ_H2_COUNT cases per family)" env FUZZ_SEED="$seed" \
    "$DENO" test -A --no-prompt tests/fuzz_h2_test.ts
done
step "libFuzzer libpool ${FUZZ_SECONDS:-600} s seed ${FUZZ_SEED:-1}" \
  make -s -C native fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-600}" FUZZ_SEED="${FUZZ_SEED:-1}"
steps_summary
