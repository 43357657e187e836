/*
 * libpool implementation. See pool.h for the contract; this file keeps the layout and the
 * invariants:
 *   - class c's free stack holds exactly the indexes of its free blocks in slots [0, free_top);
 *   - state[i] == 0 means block i is free; otherwise it holds the requested size (>= 1), or
 *     POOL_STATE_QUARANTINED in a debug build after a use-after-free was detected;
 *   - nothing here allocates after pool_create: the pool_t itself lives in the mapping.
 */
#define _DEFAULT_SOURCE
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Programmer errors (a NULL or foreign pool_t) abort, in release builds too: continuing would
 * corrupt memory we do not own. Bad input from callers is never asserted; it gets a status. */
#define POOL_ASSERT(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "libpool: assertion failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);   \
      abort();                                                                                 \
    }                                                                                          \
  } while (0)

#define POOL_MAGIC 0x504F4F4C31ULL /* "POOL1" */
#define POOL_STATE_QUARANTINED 0xFFFFFFFFu
#define POOL_POISON_BYTE 0xDD

typedef struct pool_class {
  uint32_t block_size_bytes;
  uint32_t block_count;
  uint32_t free_top; /* number of free blocks = filled slots of free_stack */
  uint32_t in_use;
  uint32_t in_use_high_watermark;
  uint32_t reserved;
  uint64_t base_offset_bytes;
  uint64_t alloc_total;
  uint64_t alloc_failures_total;
  uint64_t bytes_requested_total;
  uint64_t bytes_requested_in_use;
  uint32_t *free_stack; /* block_count slots in the metadata area */
  uint32_t *state;      /* block_count words in the metadata area */
} pool_class;

struct pool {
  uint64_t magic;
  uint8_t *base;
  uint64_t region_bytes;
  uint64_t data_bytes;
  uint32_t class_count;
  uint32_t in_use;
  uint64_t alloc_too_large_total;
  uint64_t invalid_free_foreign_total;
  uint64_t invalid_free_misaligned_total;
  uint64_t invalid_free_double_total;
  uint64_t use_after_free_detected_total;
  pool_class classes[POOL_CLASS_COUNT_MAX];
};

_Static_assert(sizeof(struct pool) <= POOL_PAGE_BYTES, "pool_t must fit its control page");
_Static_assert(sizeof(pool_class_stats_t) == 9 * 8, "pool_class_stats_t layout is part of the ABI");
_Static_assert(sizeof(pool_stats_t) == 72 + 16 * 72, "pool_stats_t layout is part of the ABI");
_Static_assert(sizeof(pool_config_t) == 8 + 16 * 8, "pool_config_t layout is part of the ABI");

static uint64_t round_up_page(uint64_t n) {
  return (n + (POOL_PAGE_BYTES - 1)) & ~(uint64_t)(POOL_PAGE_BYTES - 1);
}

static void check_pool(const pool_t *pool) {
  POOL_ASSERT(pool != NULL);
  POOL_ASSERT(pool->magic == POOL_MAGIC);
}

uint32_t pool_abi_version(void) { return POOL_ABI_VERSION; }
uint32_t pool_config_bytes(void) { return (uint32_t)sizeof(pool_config_t); }
uint32_t pool_stats_bytes(void) { return (uint32_t)sizeof(pool_stats_t); }

int32_t pool_config_check(const pool_config_t *config) {
  if (config == NULL) return POOL_E_INVALID_ARGUMENT;
  if (config->class_count < 1 || config->class_count > POOL_CLASS_COUNT_MAX) {
    return POOL_E_INVALID_CONFIG;
  }
  if ((config->flags & ~(POOL_FLAG_PREFAULT | POOL_FLAG_MLOCK)) != 0) return POOL_E_INVALID_CONFIG;
  uint32_t previous_size = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    const pool_class_config_t *cc = &config->classes[c];
    if (cc->block_size_bytes < POOL_BLOCK_ALIGN_BYTES) return POOL_E_INVALID_CONFIG;
    if (cc->block_size_bytes % POOL_BLOCK_ALIGN_BYTES != 0) return POOL_E_INVALID_CONFIG;
    if (cc->block_size_bytes <= previous_size) return POOL_E_INVALID_CONFIG;
    if (cc->block_count < 1 || cc->block_count > POOL_BLOCK_COUNT_MAX) {
      return POOL_E_INVALID_CONFIG;
    }
    previous_size = cc->block_size_bytes;
  }
  return POOL_OK;
}

uint64_t pool_region_bytes(const pool_config_t *config) {
  if (pool_config_check(config) != POOL_OK) return 0;
  uint64_t data_bytes = 0;
  uint64_t block_count_total = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    const pool_class_config_t *cc = &config->classes[c];
    data_bytes += round_up_page((uint64_t)cc->block_size_bytes * cc->block_count);
    block_count_total += cc->block_count;
  }
  return data_bytes + round_up_page(POOL_PAGE_BYTES + 8 * block_count_total);
}

/* Lays the classes and their metadata out inside a fresh mapping and fills every free stack.
 * This is the only loop over blocks, and it runs once. */
static pool_t *pool_init_region(const pool_config_t *config, uint8_t *region, uint64_t region_bytes) {
  uint64_t data_bytes = 0;
  uint64_t block_count_total = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    data_bytes += round_up_page((uint64_t)config->classes[c].block_size_bytes *
                                config->classes[c].block_count);
    block_count_total += config->classes[c].block_count;
  }
  pool_t *pool = (pool_t *)(region + data_bytes);
  memset(pool, 0, sizeof(*pool));
  pool->base = region;
  pool->region_bytes = region_bytes;
  pool->data_bytes = data_bytes;
  pool->class_count = config->class_count;
  uint32_t *slots = (uint32_t *)(region + data_bytes + POOL_PAGE_BYTES);
  uint32_t *states = slots + block_count_total;
  uint64_t base_offset = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    pool_class *pc = &pool->classes[c];
    pc->block_size_bytes = config->classes[c].block_size_bytes;
    pc->block_count = config->classes[c].block_count;
    pc->base_offset_bytes = base_offset;
    pc->free_stack = slots;
    pc->state = states;
    /* Filled in reverse so the first allocation gets block 0: predictable for tests. */
    for (uint32_t i = 0; i < pc->block_count; i++) {
      pc->free_stack[i] = pc->block_count - 1 - i;
      pc->state[i] = 0;
    }
    pc->free_top = pc->block_count;
    slots += pc->block_count;
    states += pc->block_count;
    base_offset += round_up_page((uint64_t)pc->block_size_bytes * pc->block_count);
  }
#ifdef POOL_DEBUG
  memset(region, POOL_POISON_BYTE, data_bytes);
#endif
  pool->magic = POOL_MAGIC;
  return pool;
}

int32_t pool_create(const pool_config_t *config, pool_t **out) {
  if (out == NULL) return POOL_E_INVALID_ARGUMENT;
  *out = NULL;
  int32_t status = pool_config_check(config);
  if (status != POOL_OK) return status;
  uint64_t region_bytes = pool_region_bytes(config);
  if (region_bytes > (uint64_t)SIZE_MAX) return POOL_E_MMAP_FAILED;
  int mmap_flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (config->flags & POOL_FLAG_PREFAULT) mmap_flags |= MAP_POPULATE;
  void *region = mmap(NULL, (size_t)region_bytes, PROT_READ | PROT_WRITE, mmap_flags, -1, 0);
  if (region == MAP_FAILED) return POOL_E_MMAP_FAILED;
  if ((config->flags & POOL_FLAG_MLOCK) && mlock(region, (size_t)region_bytes) != 0) {
    munmap(region, (size_t)region_bytes);
    return POOL_E_MLOCK_FAILED;
  }
  *out = pool_init_region(config, (uint8_t *)region, region_bytes);
  return POOL_OK;
}

int32_t pool_destroy(pool_t *pool) {
  check_pool(pool);
  uint8_t *base = pool->base;
  size_t region_bytes = (size_t)pool->region_bytes;
  /* Clear the magic first so a stale pointer used later fails the assertion if the pages are
   * ever mapped again by someone else with our old contents (best effort). */
  pool->magic = 0;
  return munmap(base, region_bytes) == 0 ? POOL_OK : POOL_E_INVALID_ARGUMENT;
}

#ifdef POOL_DEBUG
/* Returns 1 when every byte of the block still carries the poison written at free. */
static int block_poison_intact(const uint8_t *block, uint32_t size_bytes) {
  for (uint32_t i = 0; i < size_bytes; i++) {
    if (block[i] != POOL_POISON_BYTE) return 0;
  }
  return 1;
}
#endif

int32_t pool_alloc(pool_t *pool, uint32_t size_bytes) {
  check_pool(pool);
  if (size_bytes == 0) return POOL_E_INVALID_ARGUMENT;
  /* Bounded by the class count (<= 16), never by the block count. */
  uint32_t c = 0;
  while (c < pool->class_count && pool->classes[c].block_size_bytes < size_bytes) c++;
  if (c == pool->class_count) {
    pool->alloc_too_large_total++;
    return POOL_E_TOO_LARGE;
  }
  pool_class *pc = &pool->classes[c];
  if (pc->free_top == 0) {
    pc->alloc_failures_total++;
    return POOL_E_EXHAUSTED;
  }
  uint32_t index = pc->free_stack[--pc->free_top];
#ifdef POOL_DEBUG
  const uint8_t *block = pool->base + pc->base_offset_bytes + (uint64_t)index * pc->block_size_bytes;
  if (!block_poison_intact(block, pc->block_size_bytes)) {
    pc->state[index] = POOL_STATE_QUARANTINED;
    pool->use_after_free_detected_total++;
    return POOL_E_USE_AFTER_FREE;
  }
#endif
  pc->state[index] = size_bytes;
  pc->in_use++;
  if (pc->in_use > pc->in_use_high_watermark) pc->in_use_high_watermark = pc->in_use;
  pc->alloc_total++;
  pc->bytes_requested_total += size_bytes;
  pc->bytes_requested_in_use += size_bytes;
  pool->in_use++;
  return (int32_t)((c << POOL_HANDLE_CLASS_SHIFT) | index);
}

/* Frees block `index` of class `c`, both already range-checked. */
static int32_t free_block(pool_t *pool, uint32_t c, uint32_t index) {
  pool_class *pc = &pool->classes[c];
  uint32_t state = pc->state[index];
  if (state == 0 || state == POOL_STATE_QUARANTINED) {
    pool->invalid_free_double_total++;
    return POOL_E_DOUBLE_FREE;
  }
  POOL_ASSERT(pc->free_top < pc->block_count);
  pc->state[index] = 0;
  pc->bytes_requested_in_use -= state;
  pc->in_use--;
  pool->in_use--;
#ifdef POOL_DEBUG
  memset(pool->base + pc->base_offset_bytes + (uint64_t)index * pc->block_size_bytes,
         POOL_POISON_BYTE, pc->block_size_bytes);
#endif
  pc->free_stack[pc->free_top++] = index;
  return POOL_OK;
}

int32_t pool_free(pool_t *pool, uint32_t handle) {
  check_pool(pool);
  uint32_t c = handle >> POOL_HANDLE_CLASS_SHIFT;
  uint32_t index = handle & POOL_HANDLE_INDEX_MASK;
  if (c >= pool->class_count || index >= pool->classes[c].block_count) {
    pool->invalid_free_foreign_total++;
    return POOL_E_FOREIGN;
  }
  return free_block(pool, c, index);
}

int32_t pool_free_ptr(pool_t *pool, const void *ptr) {
  check_pool(pool);
  uintptr_t p = (uintptr_t)ptr;
  uintptr_t base = (uintptr_t)pool->base;
  if (ptr == NULL || p < base || p - base >= pool->data_bytes) {
    pool->invalid_free_foreign_total++;
    return POOL_E_FOREIGN;
  }
  uint64_t offset = (uint64_t)(p - base);
  uint32_t c = 0;
  while (c + 1 < pool->class_count && pool->classes[c + 1].base_offset_bytes <= offset) c++;
  const pool_class *pc = &pool->classes[c];
  uint64_t within = offset - pc->base_offset_bytes;
  uint64_t index = within / pc->block_size_bytes;
  /* The page padding after a class's last block is pool memory but no block: misaligned. */
  if (within % pc->block_size_bytes != 0 || index >= pc->block_count) {
    pool->invalid_free_misaligned_total++;
    return POOL_E_MISALIGNED;
  }
  return free_block(pool, c, (uint32_t)index);
}

void *pool_base(pool_t *pool) {
  check_pool(pool);
  return pool->base;
}

void *pool_block_ptr(pool_t *pool, uint32_t handle) {
  check_pool(pool);
  uint32_t c = handle >> POOL_HANDLE_CLASS_SHIFT;
  uint32_t index = handle & POOL_HANDLE_INDEX_MASK;
  if (c >= pool->class_count || index >= pool->classes[c].block_count) return NULL;
  const pool_class *pc = &pool->classes[c];
  uint32_t state = pc->state[index];
  if (state == 0 || state == POOL_STATE_QUARANTINED) return NULL;
  return pool->base + pc->base_offset_bytes + (uint64_t)index * pc->block_size_bytes;
}

uint32_t pool_in_use(pool_t *pool) {
  check_pool(pool);
  return pool->in_use;
}

int32_t pool_stats(pool_t *pool, pool_stats_t *out) {
  check_pool(pool);
  if (out == NULL) return POOL_E_INVALID_ARGUMENT;
  memset(out, 0, sizeof(*out));
  out->abi_version = POOL_ABI_VERSION;
  out->class_count = pool->class_count;
  out->region_bytes = pool->region_bytes;
  out->data_bytes = pool->data_bytes;
  out->blocks_in_use = pool->in_use;
  out->alloc_too_large_total = pool->alloc_too_large_total;
  out->invalid_free_foreign_total = pool->invalid_free_foreign_total;
  out->invalid_free_misaligned_total = pool->invalid_free_misaligned_total;
  out->invalid_free_double_total = pool->invalid_free_double_total;
  out->use_after_free_detected_total = pool->use_after_free_detected_total;
  for (uint32_t c = 0; c < pool->class_count; c++) {
    const pool_class *pc = &pool->classes[c];
    pool_class_stats_t *cs = &out->classes[c];
    cs->block_size_bytes = pc->block_size_bytes;
    cs->blocks_total = pc->block_count;
    cs->blocks_in_use = pc->in_use;
    cs->blocks_in_use_high_watermark = pc->in_use_high_watermark;
    cs->alloc_total = pc->alloc_total;
    cs->alloc_failures_total = pc->alloc_failures_total;
    cs->bytes_requested_total = pc->bytes_requested_total;
    cs->bytes_requested_in_use = pc->bytes_requested_in_use;
    cs->base_offset_bytes = pc->base_offset_bytes;
  }
  return POOL_OK;
}

const char *pool_status_name(int32_t status) {
  switch (status) {
    case POOL_OK: return "POOL_OK";
    case POOL_E_EXHAUSTED: return "POOL_E_EXHAUSTED";
    case POOL_E_TOO_LARGE: return "POOL_E_TOO_LARGE";
    case POOL_E_FOREIGN: return "POOL_E_FOREIGN";
    case POOL_E_MISALIGNED: return "POOL_E_MISALIGNED";
    case POOL_E_DOUBLE_FREE: return "POOL_E_DOUBLE_FREE";
    case POOL_E_INVALID_CONFIG: return "POOL_E_INVALID_CONFIG";
    case POOL_E_MMAP_FAILED: return "POOL_E_MMAP_FAILED";
    case POOL_E_MLOCK_FAILED: return "POOL_E_MLOCK_FAILED";
    case POOL_E_INVALID_ARGUMENT: return "POOL_E_INVALID_ARGUMENT";
    case POOL_E_USE_AFTER_FREE: return "POOL_E_USE_AFTER_FREE";
    default: return "POOL_E_UNKNOWN";
  }
}
