# The project's test suites, in order, sourced by scripts/test_all.sh (run_suite NAME CMD...).
[ -f native/Makefile ] && run_suite native-asan-ubsan make -s -C native test
[ -f native/Makefile ] && run_suite native-valgrind make -s -C native valgrind
[ -f native/Makefile ] && run_suite native-fuzz make -s -C native fuzz FUZZ_SECONDS=20
[ -f native/Makefile ] && make -s -C native >/dev/null
run_suite deno-test "$DENO" test --unstable-net -A --no-prompt
run_suite schema-fresh bash scripts/check_schema.sh
run_suite structure "$DENO" run --allow-read --allow-env scripts/check_structure.ts
