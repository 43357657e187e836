/*
 * Micro-benchmark: one libpool alloc/free pair against one glibc malloc/free pair of the same
 * sizes (64 B, 4 KiB, 64 KiB, 1 MiB), each in a tight loop, best of several runs. Prints
 * nanoseconds per pair and the ratio glibc / pool. Not a test: it prints no pass/fail line.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../pool.h"

#define PAIR_COUNT 2000000u
#define RUN_COUNT 5

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double bench_pool(pool_t *pool, uint32_t size) {
  double best = 1e30;
  for (int run = 0; run < RUN_COUNT; run++) {
    double start = now_ns();
    for (uint32_t i = 0; i < PAIR_COUNT; i++) {
      int32_t h = pool_alloc(pool, size);
      if (h < 0 || pool_free(pool, (uint32_t)h) != POOL_OK) abort();
    }
    double per_pair = (now_ns() - start) / PAIR_COUNT;
    if (per_pair < best) best = per_pair;
  }
  return best;
}

static double bench_malloc(uint32_t size) {
  double best = 1e30;
  for (int run = 0; run < RUN_COUNT; run++) {
    double start = now_ns();
    for (uint32_t i = 0; i < PAIR_COUNT; i++) {
      /* The volatile store keeps the compiler from removing the pair. */
      void *volatile p = malloc(size);
      if (p == NULL) abort();
      free(p);
    }
    double per_pair = (now_ns() - start) / PAIR_COUNT;
    if (per_pair < best) best = per_pair;
  }
  return best;
}

int main(void) {
  static const uint32_t sizes[] = {64, 4096, 65536, 1048576};
  pool_config_t config;
  memset(&config, 0, sizeof(config));
  config.class_count = 4;
  for (uint32_t c = 0; c < 4; c++) config.classes[c] = (pool_class_config_t){sizes[c], 16};
  config.flags = POOL_FLAG_PREFAULT;
  pool_t *pool = NULL;
  if (pool_create(&config, &pool) != POOL_OK) return 1;
  printf("%-10s %14s %16s %8s\n", "size", "pool ns/pair", "glibc ns/pair", "ratio");
  for (int i = 0; i < 4; i++) {
    double pool_ns = bench_pool(pool, sizes[i]);
    double malloc_ns = bench_malloc(sizes[i]);
    printf("%-10u %14.2f %16.2f %7.2fx\n", sizes[i], pool_ns, malloc_ns, malloc_ns / pool_ns);
  }
  pool_destroy(pool);
  return 0;
}
