/* Unit, misuse, exhaustion and stats tests of libpool. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../pool.h"
#include "test_harness.h"

static pool_config_t make_config(uint32_t class_count, const uint32_t *sizes, const uint32_t *counts) {
  pool_config_t config;
  memset(&config, 0, sizeof(config));
  config.class_count = class_count;
  for (uint32_t c = 0; c < class_count; c++) {
    config.classes[c].block_size_bytes = sizes[c];
    config.classes[c].block_count = counts[c];
  }
  return config;
}

static uint64_t round_page(uint64_t n) { return (n + 4095) / 4096 * 4096; }

static void test_region_bytes_formula(void) {
  const uint32_t sizes[] = {64, 4096, 65536};
  const uint32_t counts[] = {3, 10, 2};
  pool_config_t config = make_config(3, sizes, counts);
  uint64_t expected = round_page(64 * 3) + round_page(4096 * 10) + round_page(65536 * 2) +
                      round_page(4096 + 8 * 15);
  CHECK_EQ_INT(pool_region_bytes(&config), expected);
  CHECK_EQ_INT(expected, 4096 + 40960 + 131072 + 8192);
  const uint32_t one_size[] = {64};
  const uint32_t one_count[] = {1};
  pool_config_t tiny = make_config(1, one_size, one_count);
  CHECK_EQ_INT(pool_region_bytes(&tiny), 4096 + 8192);
  CHECK_EQ_INT(pool_region_bytes(NULL), 0);
  CHECK_EQ_INT(pool_config_bytes(), sizeof(pool_config_t));
  CHECK_EQ_INT(pool_stats_bytes(), sizeof(pool_stats_t));
  CHECK_EQ_INT(pool_abi_version(), POOL_ABI_VERSION);
}

static void test_invalid_configs(void) {
  pool_t *pool = (pool_t *)1;
  pool_config_t none = make_config(0, NULL, NULL);
  CHECK_EQ_INT(pool_create(&none, &pool), POOL_E_INVALID_CONFIG);
  CHECK(pool == NULL);
  CHECK_EQ_INT(pool_create(NULL, &pool), POOL_E_INVALID_ARGUMENT);
  const uint32_t ok_sizes[] = {64, 128};
  const uint32_t ok_counts[] = {1, 1};
  pool_config_t ok = make_config(2, ok_sizes, ok_counts);
  CHECK_EQ_INT(pool_create(&ok, NULL), POOL_E_INVALID_ARGUMENT);
  ok.class_count = 17;
  CHECK_EQ_INT(pool_config_check(&ok), POOL_E_INVALID_CONFIG);
  const uint32_t cases[][4] = {
      /* size0, count0, size1, count1 */
      {32, 1, 128, 1},        /* below 64 */
      {100, 1, 128, 1},       /* not a multiple of 64 */
      {128, 1, 128, 1},       /* not strictly increasing */
      {256, 1, 128, 1},       /* decreasing */
      {64, 0, 128, 1},        /* zero count */
      {64, 1, 128, 0x1000000} /* count above 2^24 - 1 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const uint32_t sizes[] = {cases[i][0], cases[i][2]};
    const uint32_t counts[] = {cases[i][1], cases[i][3]};
    pool_config_t bad = make_config(2, sizes, counts);
    CHECK_EQ_INT(pool_config_check(&bad), POOL_E_INVALID_CONFIG);
    CHECK_EQ_INT(pool_region_bytes(&bad), 0);
    CHECK_EQ_INT(pool_create(&bad, &pool), POOL_E_INVALID_CONFIG);
  }
  pool_config_t bad_flags = make_config(2, ok_sizes, ok_counts);
  bad_flags.flags = 4;
  CHECK_EQ_INT(pool_config_check(&bad_flags), POOL_E_INVALID_CONFIG);
  const uint32_t max_counts[] = {1, 0xFFFFFF};
  pool_config_t max_ok = make_config(2, ok_sizes, max_counts);
  CHECK_EQ_INT(pool_config_check(&max_ok), POOL_OK);
}

static void test_alloc_picks_smallest_class_and_handles(void) {
  const uint32_t sizes[] = {64, 4096, 65536};
  const uint32_t counts[] = {4, 4, 2};
  pool_config_t config = make_config(3, sizes, counts);
  config.flags = POOL_FLAG_PREFAULT;
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return;
  pool_stats_t stats;
  CHECK_EQ_INT(pool_stats(pool, &stats), POOL_OK);
  CHECK_EQ_INT(stats.abi_version, POOL_ABI_VERSION);
  CHECK_EQ_INT(stats.region_bytes, pool_region_bytes(&config));
  CHECK_EQ_INT(stats.classes[1].base_offset_bytes, 4096);
  CHECK_EQ_INT(stats.classes[2].base_offset_bytes, 4096 + 16384);
  int32_t a = pool_alloc(pool, 1);
  int32_t b = pool_alloc(pool, 64);
  int32_t c = pool_alloc(pool, 65);
  int32_t d = pool_alloc(pool, 65536);
  CHECK_EQ_INT(a, 0);
  CHECK_EQ_INT(b, 1);
  CHECK_EQ_INT(c, 1 << 24);
  CHECK_EQ_INT(d, 2 << 24);
  uint8_t *base = (uint8_t *)pool_base(pool);
  CHECK(pool_block_ptr(pool, (uint32_t)c) == base + 4096);
  CHECK(pool_block_ptr(pool, (uint32_t)d) == base + 4096 + 16384);
  CHECK(pool_block_ptr(pool, 3) == NULL);
  memset(pool_block_ptr(pool, (uint32_t)d), 0xAB, 65536);
  CHECK_EQ_INT(pool_alloc(pool, 65537), POOL_E_TOO_LARGE);
  CHECK_EQ_INT(pool_alloc(pool, 0), POOL_E_INVALID_ARGUMENT);
  CHECK_EQ_INT(pool_in_use(pool), 4);
  CHECK_EQ_INT(pool_stats(pool, &stats), POOL_OK);
  CHECK_EQ_INT(stats.blocks_in_use, 4);
  CHECK_EQ_INT(stats.alloc_too_large_total, 1);
  CHECK_EQ_INT(stats.classes[0].blocks_in_use, 2);
  CHECK_EQ_INT(stats.classes[0].bytes_requested_in_use, 65);
  CHECK_EQ_INT(stats.classes[1].bytes_requested_total, 65);
  CHECK_EQ_INT(pool_free(pool, (uint32_t)a), POOL_OK);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 64), POOL_OK);
  CHECK_EQ_INT(pool_free(pool, (uint32_t)c), POOL_OK);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 4096 + 16384), POOL_OK);
  CHECK_EQ_INT(pool_stats(pool, &stats), POOL_OK);
  CHECK_EQ_INT(stats.blocks_in_use, 0);
  CHECK_EQ_INT(stats.classes[0].blocks_in_use_high_watermark, 2);
  CHECK_EQ_INT(stats.classes[0].alloc_total, 2);
  CHECK_EQ_INT(stats.classes[0].bytes_requested_total, 65);
  CHECK_EQ_INT(stats.classes[0].bytes_requested_in_use, 0);
  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
}

static void test_exhaustion_without_fallback(void) {
  const uint32_t sizes[] = {64, 128};
  const uint32_t counts[] = {3, 5};
  pool_config_t config = make_config(2, sizes, counts);
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return;
  for (int i = 0; i < 3; i++) CHECK(pool_alloc(pool, 10) >= 0);
  /* The 64-byte class is empty; the 128-byte class is not used as a fallback. */
  CHECK_EQ_INT(pool_alloc(pool, 10), POOL_E_EXHAUSTED);
  CHECK_EQ_INT(pool_alloc(pool, 64), POOL_E_EXHAUSTED);
  pool_stats_t stats;
  pool_stats(pool, &stats);
  CHECK_EQ_INT(stats.classes[0].alloc_failures_total, 2);
  CHECK_EQ_INT(stats.classes[1].blocks_in_use, 0);
  CHECK_EQ_INT(pool_free(pool, 1), POOL_OK);
  CHECK_EQ_INT(pool_alloc(pool, 10), 1); /* LIFO: the block just freed comes back first */
  for (int i = 0; i < 5; i++) CHECK(pool_alloc(pool, 100) >= 0);
  CHECK_EQ_INT(pool_alloc(pool, 100), POOL_E_EXHAUSTED);
  CHECK_EQ_INT(pool_in_use(pool), 8);
  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
}

static void test_misuse_is_counted_and_harmless(void) {
  const uint32_t sizes[] = {64, 192};
  const uint32_t counts[] = {2, 3};
  pool_config_t config = make_config(2, sizes, counts);
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return;
  uint8_t *base = (uint8_t *)pool_base(pool);
  int32_t h = pool_alloc(pool, 100);
  CHECK_EQ_INT(h, 1 << 24);
  /* Foreign handles: unknown class, index beyond the class. */
  CHECK_EQ_INT(pool_free(pool, 2u << 24), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free(pool, 0xFFFFFFFFu), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free(pool, 2), POOL_E_FOREIGN);
  /* Foreign pointers: NULL, below the base, past the block area, a stack address. */
  int local = 0;
  CHECK_EQ_INT(pool_free_ptr(pool, NULL), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free_ptr(pool, base - 1), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 8192), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free_ptr(pool, &local), POOL_E_FOREIGN);
  /* Misaligned: inside a block, and in the padding after the last block of class 0. */
  CHECK_EQ_INT(pool_free_ptr(pool, base + 4096 + 1), POOL_E_MISALIGNED);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 4096 + 64), POOL_E_MISALIGNED);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 128), POOL_E_MISALIGNED);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 4096 + 3 * 192), POOL_E_MISALIGNED);
  /* Double free, by handle and by pointer; and a free of a never-allocated block. */
  CHECK_EQ_INT(pool_free(pool, (uint32_t)h), POOL_OK);
  CHECK_EQ_INT(pool_free(pool, (uint32_t)h), POOL_E_DOUBLE_FREE);
  CHECK_EQ_INT(pool_free_ptr(pool, base + 4096), POOL_E_DOUBLE_FREE);
  CHECK_EQ_INT(pool_free(pool, 0), POOL_E_DOUBLE_FREE);
  pool_stats_t stats;
  pool_stats(pool, &stats);
  CHECK_EQ_INT(stats.invalid_free_foreign_total, 7);
  CHECK_EQ_INT(stats.invalid_free_misaligned_total, 4);
  CHECK_EQ_INT(stats.invalid_free_double_total, 3);
  CHECK_EQ_INT(stats.blocks_in_use, 0);
  /* The pool still works exactly as before: every block can be taken once. */
  CHECK(pool_alloc(pool, 1) >= 0);
  CHECK(pool_alloc(pool, 1) >= 0);
  CHECK_EQ_INT(pool_alloc(pool, 1), POOL_E_EXHAUSTED);
  for (int i = 0; i < 3; i++) CHECK(pool_alloc(pool, 192) >= 0);
  CHECK_EQ_INT(pool_alloc(pool, 192), POOL_E_EXHAUSTED);
  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
}

static void test_two_pools_are_independent(void) {
  const uint32_t sizes[] = {64};
  const uint32_t counts[] = {1};
  pool_config_t config = make_config(1, sizes, counts);
  pool_t *first = NULL;
  pool_t *second = NULL;
  CHECK_EQ_INT(pool_create(&config, &first), POOL_OK);
  CHECK_EQ_INT(pool_create(&config, &second), POOL_OK);
  if (first == NULL || second == NULL) return;
  CHECK_EQ_INT(pool_alloc(first, 8), 0);
  CHECK_EQ_INT(pool_alloc(second, 8), 0);
  CHECK_EQ_INT(pool_alloc(first, 8), POOL_E_EXHAUSTED);
  CHECK_EQ_INT(pool_free_ptr(second, pool_base(first)), POOL_E_FOREIGN);
  CHECK_EQ_INT(pool_free(first, 0), POOL_OK);
  CHECK_EQ_INT(pool_in_use(first), 0);
  CHECK_EQ_INT(pool_in_use(second), 1);
  CHECK_EQ_INT(pool_destroy(first), POOL_OK);
  CHECK_EQ_INT(pool_destroy(second), POOL_OK);
}

static void test_mlock_flag(void) {
  const uint32_t sizes[] = {64};
  const uint32_t counts[] = {16};
  pool_config_t config = make_config(1, sizes, counts);
  config.flags = POOL_FLAG_MLOCK | POOL_FLAG_PREFAULT;
  pool_t *pool = NULL;
  int32_t status = pool_create(&config, &pool);
  /* A container may forbid mlock; then the call must fail cleanly with the documented code. */
  CHECK(status == POOL_OK || status == POOL_E_MLOCK_FAILED);
  CHECK((status == POOL_OK) == (pool != NULL));
  if (pool != NULL) CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
}

static void test_status_names(void) {
  CHECK(strcmp(pool_status_name(POOL_E_EXHAUSTED), "POOL_E_EXHAUSTED") == 0);
  CHECK(strcmp(pool_status_name(POOL_OK), "POOL_OK") == 0);
  CHECK(strcmp(pool_status_name(-99), "POOL_E_UNKNOWN") == 0);
}

/* A pool_t that is not one (here: zeroed memory, as after a bad cast or a destroy) is a
 * programmer error: POOL_ASSERT stops the process instead of writing through it. */
static void test_assert_aborts_on_a_bogus_pool(void) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) (void)dup2(null_fd, 2);
    static uint64_t fake[512];
    pool_alloc((pool_t *)fake, 1);
    _exit(0);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
  test_region_bytes_formula();
  test_invalid_configs();
  test_alloc_picks_smallest_class_and_handles();
  test_exhaustion_without_fallback();
  test_misuse_is_counted_and_harmless();
  test_two_pools_are_independent();
  test_mlock_flag();
  test_status_names();
  test_assert_aborts_on_a_bogus_pool();
  return test_harness_finish();
}
