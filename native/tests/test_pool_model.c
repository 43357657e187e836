/*
 * Randomized model test: a long fixed-seed sequence of alloc/free (and some misuse) on a real
 * pool, every result checked against a simple reference model (per class: a set of live
 * handles). The op count is argv[1] or POOL_MODEL_OPS, default 1,000,000; the seed is printed
 * and can be replaced by argv[2] or POOL_MODEL_SEED to replay a failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pool.h"
#include "test_harness.h"

#define CLASS_COUNT 4
#define LIVE_MAX 4096 /* sum of the block counts below */

static const uint32_t block_sizes[CLASS_COUNT] = {64, 256, 4096, 65536};
static const uint32_t block_counts[CLASS_COUNT] = {2048, 1024, 768, 256};

typedef struct model {
  uint8_t live[CLASS_COUNT][2048];   /* 1 when the block is allocated */
  uint32_t requested[CLASS_COUNT][2048];
  uint32_t in_use[CLASS_COUNT];
  uint32_t live_handles[LIVE_MAX];   /* unordered list of live handles for picking a victim */
  uint32_t live_count;
  uint64_t failures[CLASS_COUNT];
  uint64_t bytes_in_use[CLASS_COUNT];
} model;

static uint64_t rng_state;

/* xorshift64*: small, fast, and the same sequence on every platform. */
static uint64_t rng_next(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(uint32_t bound) { return (uint32_t)(rng_next() % bound); }

static uint64_t parse_u64(const char *text, uint64_t fallback) {
  if (text == NULL || *text == '\0') return fallback;
  return strtoull(text, NULL, 10);
}

static int fitting_class(uint32_t size) {
  for (int c = 0; c < CLASS_COUNT; c++) {
    if (block_sizes[c] >= size) return c;
  }
  return -1;
}

/* Picks a size biased towards the small classes, sometimes too large. */
static uint32_t random_size(void) {
  uint32_t roll = rng_below(100);
  if (roll < 40) return 1 + rng_below(64);
  if (roll < 65) return 1 + rng_below(256);
  if (roll < 85) return 1 + rng_below(4096);
  if (roll < 99) return 1 + rng_below(65536);
  return 65537 + rng_below(1000);
}

static int step_alloc(pool_t *pool, model *m) {
  uint32_t size = random_size();
  int32_t got = pool_alloc(pool, size);
  int c = fitting_class(size);
  if (c < 0) return got == POOL_E_TOO_LARGE;
  if (m->in_use[c] == block_counts[c]) {
    m->failures[c]++;
    return got == POOL_E_EXHAUSTED;
  }
  if (got < 0 || (got >> 24) != c) return 0;
  uint32_t index = (uint32_t)got & 0xFFFFFF;
  if (index >= block_counts[c] || m->live[c][index]) return 0;
  m->live[c][index] = 1;
  m->requested[c][index] = size;
  m->in_use[c]++;
  m->bytes_in_use[c] += size;
  m->live_handles[m->live_count++] = (uint32_t)got;
  /* Write the first and last byte: ASan/valgrind catch a block outside the mapping. */
  uint8_t *block = pool_block_ptr(pool, (uint32_t)got);
  if (block == NULL) return 0;
  block[0] = (uint8_t)size;
  block[block_sizes[c] - 1] = (uint8_t)c;
  return 1;
}

static int step_free(pool_t *pool, model *m) {
  if (m->live_count == 0) return 1;
  uint32_t pick = rng_below(m->live_count);
  uint32_t handle = m->live_handles[pick];
  uint32_t c = handle >> 24;
  uint32_t index = handle & 0xFFFFFF;
  uint8_t *block = pool_block_ptr(pool, handle);
  if (block == NULL || block[0] != (uint8_t)m->requested[c][index]) return 0;
  int32_t status = (rng_below(2) == 0) ? pool_free(pool, handle) : pool_free_ptr(pool, block);
  if (status != POOL_OK) return 0;
  m->live[c][index] = 0;
  m->in_use[c]--;
  m->bytes_in_use[c] -= m->requested[c][index];
  m->live_handles[pick] = m->live_handles[--m->live_count];
  /* A second free of the same block must be refused. */
  if (rng_below(64) == 0 && pool_free(pool, handle) != POOL_E_DOUBLE_FREE) return 0;
  return 1;
}

static int stats_match(pool_t *pool, const model *m) {
  pool_stats_t stats;
  if (pool_stats(pool, &stats) != POOL_OK) return 0;
  uint32_t total = 0;
  for (int c = 0; c < CLASS_COUNT; c++) {
    if (stats.classes[c].blocks_in_use != m->in_use[c]) return 0;
    if (stats.classes[c].alloc_failures_total != m->failures[c]) return 0;
    if (stats.classes[c].bytes_requested_in_use != m->bytes_in_use[c]) return 0;
    total += m->in_use[c];
  }
  return stats.blocks_in_use == total && pool_in_use(pool) == total;
}

int main(int argc, char **argv) {
  uint64_t op_count = parse_u64(argc > 1 ? argv[1] : getenv("POOL_MODEL_OPS"), 1000000);
  uint64_t seed = parse_u64(argc > 2 ? argv[2] : getenv("POOL_MODEL_SEED"), 0x5EED2026ULL);
  rng_state = seed == 0 ? 1 : seed;
  printf("model test: seed %llu, %llu operations\n", (unsigned long long)seed,
         (unsigned long long)op_count);
  pool_config_t config;
  memset(&config, 0, sizeof(config));
  config.class_count = CLASS_COUNT;
  for (int c = 0; c < CLASS_COUNT; c++) {
    config.classes[c].block_size_bytes = block_sizes[c];
    config.classes[c].block_count = block_counts[c];
  }
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return test_harness_finish();
  static model m;
  memset(&m, 0, sizeof(m));
  uint64_t mismatches = 0;
  for (uint64_t op = 0; op < op_count && mismatches < 10; op++) {
    /* Drift between allocation-heavy and free-heavy phases so exhaustion is reached often. */
    uint32_t alloc_percent = ((op / 50000) % 2 == 0) ? 60 : 40;
    int ok = rng_below(100) < alloc_percent ? step_alloc(pool, &m) : step_free(pool, &m);
    if (ok && op % 1024 == 0) ok = stats_match(pool, &m);
    if (!ok) {
      mismatches++;
      fprintf(stderr, "model mismatch at operation %llu (seed %llu)\n", (unsigned long long)op,
              (unsigned long long)seed);
    }
  }
  CHECK_EQ_INT(mismatches, 0);
  CHECK(stats_match(pool, &m));
  uint64_t failures_total = m.failures[0] + m.failures[1] + m.failures[2] + m.failures[3];
  printf("model test: %llu exhaustion answers checked\n", (unsigned long long)failures_total);
  CHECK(op_count < 100000 || failures_total > 0);
  while (m.live_count > 0) CHECK_EQ_INT(pool_free(pool, m.live_handles[--m.live_count]), POOL_OK);
  CHECK_EQ_INT(pool_in_use(pool), 0);
  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
  return test_harness_finish();
}
