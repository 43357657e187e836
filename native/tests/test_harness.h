/*
 * A minimal test harness shared by the C tests: CHECK counts one assertion, and
 * test_harness_finish prints the summary line the suite runner reads ("N passed, M failed"),
 * which must be the binary's last line of output.
 */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <stdio.h>

static unsigned long test_passed_count = 0;
static unsigned long test_failed_count = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (cond) {                                                                      \
      test_passed_count++;                                                           \
    } else {                                                                         \
      test_failed_count++;                                                           \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
    }                                                                                \
  } while (0)

#define CHECK_EQ_INT(actual, expected)                                               \
  do {                                                                               \
    long long check_a_ = (long long)(actual);                                        \
    long long check_e_ = (long long)(expected);                                      \
    if (check_a_ == check_e_) {                                                      \
      test_passed_count++;                                                           \
    } else {                                                                         \
      test_failed_count++;                                                           \
      fprintf(stderr, "FAIL %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,     \
              __LINE__, #actual, check_a_, #expected, check_e_);                     \
    }                                                                                \
  } while (0)

/* Prints the summary as the last line and returns the process exit code. */
static int test_harness_finish(void) {
  fflush(stderr);
  printf("%lu passed, %lu failed\n", test_passed_count, test_failed_count);
  fflush(stdout);
  return test_failed_count == 0 ? 0 : 1;
}

#endif
