/*
 * Proof that libpool allocates nothing after create. This binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=mmap,--wrap=munmap, so every
 * call the pool code makes to those functions goes through the counting wrappers below. The
 * test checks that create does exactly one mmap and nothing else, that 200,000 alloc/free/stats
 * calls in between do none at all, and that destroy does exactly one munmap.
 */
#define _DEFAULT_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "../pool.h"
#include "test_harness.h"

typedef struct call_counts {
  unsigned long malloc_calls;
  unsigned long calloc_calls;
  unsigned long realloc_calls;
  unsigned long free_calls;
  unsigned long mmap_calls;
  unsigned long munmap_calls;
} call_counts;

static call_counts counts;

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);
void *__real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
int __real_munmap(void *addr, size_t length);

void *__wrap_malloc(size_t size) {
  counts.malloc_calls++;
  return __real_malloc(size);
}
void *__wrap_calloc(size_t count, size_t size) {
  counts.calloc_calls++;
  return __real_calloc(count, size);
}
void *__wrap_realloc(void *ptr, size_t size) {
  counts.realloc_calls++;
  return __real_realloc(ptr, size);
}
void __wrap_free(void *ptr) {
  counts.free_calls++;
  __real_free(ptr);
}
void *__wrap_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  counts.mmap_calls++;
  return __real_mmap(addr, length, prot, flags, fd, offset);
}
int __wrap_munmap(void *addr, size_t length) {
  counts.munmap_calls++;
  return __real_munmap(addr, length);
}

static unsigned long heap_calls(const call_counts *c) {
  return c->malloc_calls + c->calloc_calls + c->realloc_calls + c->free_calls;
}

/* Runs many operations of every kind, misuse included, and returns how many failed oddly. */
static unsigned long churn(pool_t *pool, uint32_t rounds) {
  static int32_t handles[64];
  unsigned long odd = 0;
  pool_stats_t stats;
  for (uint32_t r = 0; r < rounds; r++) {
    uint32_t n = 0;
    for (; n < 64; n++) {
      handles[n] = pool_alloc(pool, 1 + (r * 131 + n * 977) % 70000);
      if (handles[n] < 0 && handles[n] != POOL_E_EXHAUSTED && handles[n] != POOL_E_TOO_LARGE) {
        odd++;
      }
    }
    for (uint32_t i = 0; i < n; i++) {
      if (handles[i] >= 0 && pool_free(pool, (uint32_t)handles[i]) != POOL_OK) odd++;
    }
    if (pool_free(pool, 0) != POOL_E_DOUBLE_FREE) odd++;
    if (pool_free_ptr(pool, &stats) != POOL_E_FOREIGN) odd++;
    if (pool_stats(pool, &stats) != POOL_OK) odd++;
  }
  return odd;
}

int main(void) {
  pool_config_t config;
  memset(&config, 0, sizeof(config));
  config.class_count = 3;
  config.classes[0] = (pool_class_config_t){256, 32};
  config.classes[1] = (pool_class_config_t){4096, 16};
  config.classes[2] = (pool_class_config_t){65536, 8};
  config.flags = POOL_FLAG_PREFAULT;

  call_counts before_create = counts;
  pool_t *pool = NULL;
  CHECK_EQ_INT(pool_create(&config, &pool), POOL_OK);
  if (pool == NULL) return test_harness_finish();
  call_counts after_create = counts;
  CHECK_EQ_INT(after_create.mmap_calls - before_create.mmap_calls, 1);
  CHECK_EQ_INT(heap_calls(&after_create) - heap_calls(&before_create), 0);

  CHECK_EQ_INT(churn(pool, 3200), 0); /* 3200 rounds x (64 alloc + <= 64 free + 3) calls */
  call_counts after_churn = counts;
  CHECK_EQ_INT(heap_calls(&after_churn) - heap_calls(&after_create), 0);
  CHECK_EQ_INT(after_churn.mmap_calls - after_create.mmap_calls, 0);
  CHECK_EQ_INT(after_churn.munmap_calls - after_create.munmap_calls, 0);
  CHECK_EQ_INT(pool_in_use(pool), 0);

  CHECK_EQ_INT(pool_destroy(pool), POOL_OK);
  call_counts after_destroy = counts;
  CHECK_EQ_INT(after_destroy.munmap_calls - after_churn.munmap_calls, 1);
  CHECK_EQ_INT(heap_calls(&after_destroy) - heap_calls(&after_churn), 0);

  /* The wrappers are live for the test's own calls too, so this check cannot pass vacuously. */
  void *volatile probe = malloc(16);
  free(probe);
  CHECK_EQ_INT(counts.malloc_calls - after_destroy.malloc_calls, 1);
  CHECK_EQ_INT(counts.free_calls - after_destroy.free_calls, 1);
  return test_harness_finish();
}
