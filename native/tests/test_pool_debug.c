/*
 * Debug-build tests (pool.c compiled with -DPOOL_DEBUG): freed blocks are poisoned with 0xDD,
 * and a write into a free block is detected at its next allocation, counted, and the damaged
 * block is quarantined rather than handed out.
 */
#include <stdint.h>
#include <string.h>

#include "../pool.h"
#include "test_harness.h"

#ifndef POOL_DEBUG
#error "test_pool_debug.c must be built with -DPOOL_DEBUG"
#endif

static int all_bytes_are(const uint8_t *bytes, size_t length, uint8_t value) {
  for (size_t i = 0; i < length; i++) {
    if (bytes[i] != value) return 0;
  }
  return 1;
}

int main(void) {
  pool_config_t config;
  memset(&config, 0, sizeof(config));
  config.class_count = 2;
  config.classes[0] = (pool_class_config_t){128, 2};
  config.classes[1] = (pool_class_config_t){1024, 1};
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return test_harness_finish();
  uint8_t *base = (uint8_t *)pool_base(pool);
  /* Fresh blocks start poisoned too. */
  CHECK(all_bytes_are(base, 256, 0xDD));

  int32_t h = pool_alloc(pool, 100);
  CHECK_EQ_INT(h, 0);
  memset(base, 0x11, 128);
  CHECK_EQ_INT(pool_free(pool, (uint32_t)h), POOL_OK);
  CHECK(all_bytes_are(base, 128, 0xDD));

  /* An intact free block is handed out again. */
  h = pool_alloc(pool, 1);
  CHECK_EQ_INT(h, 0);
  CHECK_EQ_INT(pool_free(pool, (uint32_t)h), POOL_OK);

  /* A use after free: one byte written into the free block 0. */
  base[77] = 0x42;
  CHECK_EQ_INT(pool_alloc(pool, 1), POOL_E_USE_AFTER_FREE);
  pool_stats_t stats;
  pool_stats(pool, &stats);
  CHECK_EQ_INT(stats.use_after_free_detected_total, 1);
  CHECK_EQ_INT(stats.blocks_in_use, 0);
  /* Block 0 is quarantined: not allocatable, not freeable; block 1 still works. */
  CHECK_EQ_INT(pool_free(pool, 0), POOL_E_DOUBLE_FREE);
  CHECK_EQ_INT(pool_alloc(pool, 1), 1);
  CHECK_EQ_INT(pool_alloc(pool, 1), POOL_E_EXHAUSTED);
  CHECK(pool_block_ptr(pool, 0) == NULL);

  /* The poison covers the whole block of a larger class as well. */
  int32_t big = pool_alloc(pool, 1000);
  CHECK_EQ_INT(big, 1 << 24);
  uint8_t *big_ptr = pool_block_ptr(pool, (uint32_t)big);
  memset(big_ptr, 0, 1024);
  CHECK_EQ_INT(pool_free_ptr(pool, big_ptr), POOL_OK);
  CHECK(all_bytes_are(big_ptr, 1024, 0xDD));
  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
  return test_harness_finish();
}
