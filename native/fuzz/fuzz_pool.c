/*
 * libFuzzer harness for libpool's API (issue 7, item 3).
 *
 * The input is a program: a configuration, then a sequence of operations (create, alloc, free by
 * handle or garbage handle, free_ptr by live pointer or arbitrary offset, stats, destroy). The
 * harness keeps its own model of the pool (which blocks are live, with which requested size and
 * fill pattern, and every counter) computed from pool.h's documented rules alone, and aborts on
 * any disagreement: a status code, a handle that is not unique or not from the fitting class, a
 * block address, a live block whose pattern changed, an in-use count or a stats field.
 *
 * Build and run: `make -C native fuzz FUZZ_SECONDS=20` (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pool.h"

/* Bounds that keep one input cheap: blocks per class and bytes per block in a generated config,
 * the region size created from a raw (arbitrary) config, and operations per input. */
#define FUZZ_CLASS_COUNT_MAX 4u
#define FUZZ_BLOCKS_PER_CLASS_MAX 64u
#define FUZZ_RAW_REGION_BYTES_MAX (8u * 1024u * 1024u)
#define FUZZ_RAW_BLOCKS_MAX 4096u
#define FUZZ_OPS_MAX 4096u

#define EXPECT(cond)                                                             \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "fuzz_pool: model disagreement at %s:%d: %s\n", __FILE__, \
              __LINE__, #cond);                                                  \
      abort();                                                                   \
    }                                                                            \
  } while (0)

/* Reads the input front to back; past the end every read is 0 (so any input is a program). */
typedef struct reader_t {
  const uint8_t *data;
  size_t size;
  size_t at;
} reader_t;

static uint8_t read_u8(reader_t *r) { return r->at < r->size ? r->data[r->at++] : 0; }

static uint32_t read_u32(reader_t *r) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)read_u8(r) << (8 * i);
  return v;
}

/* The model: per class the live state (0 = free, else requested size) and fill byte. */
typedef struct model_t {
  pool_t *pool;
  pool_config_t config;
  uint64_t base_offset[POOL_CLASS_COUNT_MAX];
  uint64_t data_bytes;
  uint32_t *live_size[POOL_CLASS_COUNT_MAX];
  uint8_t *fill[POOL_CLASS_COUNT_MAX];
  uint64_t in_use[POOL_CLASS_COUNT_MAX];
  uint64_t high_watermark[POOL_CLASS_COUNT_MAX];
  uint64_t alloc_total[POOL_CLASS_COUNT_MAX];
  uint64_t alloc_failures[POOL_CLASS_COUNT_MAX];
  uint64_t bytes_requested_total[POOL_CLASS_COUNT_MAX];
  uint64_t bytes_requested_in_use[POOL_CLASS_COUNT_MAX];
  uint64_t too_large, foreign, misaligned, double_free;
  uint8_t next_fill;
} model_t;

static uint64_t round_up_page(uint64_t n) {
  return (n + POOL_PAGE_BYTES - 1) / POOL_PAGE_BYTES * POOL_PAGE_BYTES;
}

/* pool_config_check's rules, as pool.h states them. */
static int model_config_valid(const pool_config_t *config) {
  if (config->class_count < 1 || config->class_count > POOL_CLASS_COUNT_MAX) return 0;
  if ((config->flags & ~(POOL_FLAG_PREFAULT | POOL_FLAG_MLOCK)) != 0) return 0;
  uint32_t previous = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    const pool_class_config_t *cc = &config->classes[c];
    if (cc->block_size_bytes < 64 || cc->block_size_bytes % 64 != 0) return 0;
    if (cc->block_size_bytes <= previous) return 0;
    if (cc->block_count < 1 || cc->block_count > POOL_BLOCK_COUNT_MAX) return 0;
    previous = cc->block_size_bytes;
  }
  return 1;
}

/* pool_region_bytes's formula from pool.h. */
static uint64_t model_region_bytes(const pool_config_t *config) {
  uint64_t data = 0, blocks = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    data += round_up_page((uint64_t)config->classes[c].block_size_bytes *
                          config->classes[c].block_count);
    blocks += config->classes[c].block_count;
  }
  return data + round_up_page(POOL_PAGE_BYTES + 8 * blocks);
}

/* A small valid config (mostly) or, for one input in four, raw words from the input. */
static void read_config(reader_t *r, pool_config_t *config) {
  memset(config, 0, sizeof(*config));
  uint8_t mode = read_u8(r);
  if ((mode & 3) == 0) {
    config->class_count = read_u8(r) % (POOL_CLASS_COUNT_MAX + 2);
    config->flags = read_u8(r) % 4 == 0 ? read_u32(r) : 0;
    for (uint32_t c = 0; c < POOL_CLASS_COUNT_MAX; c++) {
      config->classes[c].block_size_bytes = read_u32(r);
      config->classes[c].block_count = read_u32(r);
    }
    return;
  }
  config->class_count = 1 + read_u8(r) % FUZZ_CLASS_COUNT_MAX;
  config->flags = (mode & 4) ? POOL_FLAG_PREFAULT : 0;
  uint32_t size = 0;
  for (uint32_t c = 0; c < config->class_count; c++) {
    size += 64u * (1u + read_u8(r) % 16u);
    config->classes[c].block_size_bytes = size;
    config->classes[c].block_count = 1 + read_u8(r) % FUZZ_BLOCKS_PER_CLASS_MAX;
  }
}

static int model_create(model_t *m, reader_t *r) {
  pool_config_t config;
  read_config(r, &config);
  int valid = model_config_valid(&config);
  EXPECT(pool_config_check(&config) == (valid ? POOL_OK : POOL_E_INVALID_CONFIG));
  EXPECT(pool_region_bytes(&config) == (valid ? model_region_bytes(&config) : 0));
  if (!valid) {
    pool_t *out = (pool_t *)&config; /* any non-null value: create must overwrite it */
    EXPECT(pool_create(&config, &out) == POOL_E_INVALID_CONFIG && out == NULL);
    return 0;
  }
  uint64_t blocks = 0;
  for (uint32_t c = 0; c < config.class_count; c++) blocks += config.classes[c].block_count;
  if (model_region_bytes(&config) > FUZZ_RAW_REGION_BYTES_MAX || blocks > FUZZ_RAW_BLOCKS_MAX) {
    return 0; /* valid but too big to fuzz cheaply */
  }
  memset(m, 0, sizeof(*m));
  m->config = config;
  int32_t created = pool_create(&config, &m->pool);
  /* mlock may be refused by RLIMIT_MEMLOCK; that is the documented answer, not a bug. */
  if ((config.flags & POOL_FLAG_MLOCK) && created == POOL_E_MLOCK_FAILED) {
    EXPECT(m->pool == NULL);
    return 0;
  }
  EXPECT(created == POOL_OK && m->pool != NULL);
  for (uint32_t c = 0; c < config.class_count; c++) {
    m->base_offset[c] = m->data_bytes;
    m->data_bytes += round_up_page((uint64_t)config.classes[c].block_size_bytes *
                                   config.classes[c].block_count);
    m->live_size[c] = calloc(config.classes[c].block_count, sizeof(uint32_t));
    m->fill[c] = calloc(config.classes[c].block_count, 1);
    EXPECT(m->live_size[c] != NULL && m->fill[c] != NULL);
  }
  return 1;
}

static uint8_t *block_addr(const model_t *m, uint32_t c, uint32_t index) {
  return (uint8_t *)pool_base(m->pool) + m->base_offset[c] +
         (uint64_t)index * m->config.classes[c].block_size_bytes;
}

static void check_block(const model_t *m, uint32_t c, uint32_t index) {
  const uint8_t *p = block_addr(m, c, index);
  uint32_t size = m->config.classes[c].block_size_bytes;
  for (uint32_t i = 0; i < size; i++) EXPECT(p[i] == (uint8_t)(m->fill[c][index] + i));
}

static void check_all_live(const model_t *m) {
  for (uint32_t c = 0; c < m->config.class_count; c++) {
    for (uint32_t i = 0; i < m->config.classes[c].block_count; i++) {
      if (m->live_size[c][i] != 0) check_block(m, c, i);
    }
  }
}

static void model_destroy(model_t *m) {
  check_all_live(m);
  EXPECT(pool_destroy(m->pool) == POOL_OK);
  for (uint32_t c = 0; c < m->config.class_count; c++) {
    free(m->live_size[c]);
    free(m->fill[c]);
  }
  m->pool = NULL;
}

static void op_alloc(model_t *m, reader_t *r) {
  uint8_t how = read_u8(r);
  uint32_t size = how < 16 ? 0 : how < 32 ? read_u32(r) : 1 + (read_u32(r) % (m->config.classes[m->config.class_count - 1].block_size_bytes + 64));
  int32_t got = pool_alloc(m->pool, size);
  uint32_t c = 0;
  while (c < m->config.class_count && m->config.classes[c].block_size_bytes < size) c++;
  if (size == 0) {
    EXPECT(got == POOL_E_INVALID_ARGUMENT);
  } else if (c == m->config.class_count) {
    EXPECT(got == POOL_E_TOO_LARGE);
    m->too_large++;
  } else if (m->in_use[c] == m->config.classes[c].block_count) {
    EXPECT(got == POOL_E_EXHAUSTED);
    m->alloc_failures[c]++;
  } else {
    EXPECT(got >= 0 && ((uint32_t)got >> POOL_HANDLE_CLASS_SHIFT) == c);
    uint32_t index = (uint32_t)got & POOL_HANDLE_INDEX_MASK;
    EXPECT(index < m->config.classes[c].block_count && m->live_size[c][index] == 0);
    EXPECT(pool_block_ptr(m->pool, (uint32_t)got) == block_addr(m, c, index));
    m->live_size[c][index] = size;
    m->fill[c][index] = m->next_fill++;
    uint8_t *p = block_addr(m, c, index);
    for (uint32_t i = 0; i < m->config.classes[c].block_size_bytes; i++) {
      p[i] = (uint8_t)(m->fill[c][index] + i);
    }
    if (++m->in_use[c] > m->high_watermark[c]) m->high_watermark[c] = m->in_use[c];
    m->alloc_total[c]++;
    m->bytes_requested_total[c] += size;
    m->bytes_requested_in_use[c] += size;
  }
}

/* The model's answer to freeing block `index` of class `c` (range-checked already). */
static int32_t model_free_block(model_t *m, uint32_t c, uint32_t index) {
  if (m->live_size[c][index] == 0) {
    m->double_free++;
    return POOL_E_DOUBLE_FREE;
  }
  check_block(m, c, index);
  m->bytes_requested_in_use[c] -= m->live_size[c][index];
  m->live_size[c][index] = 0;
  m->in_use[c]--;
  return POOL_OK;
}

/* A live handle (when `pick_live` and one exists) or an arbitrary one. */
static uint32_t pick_handle(const model_t *m, reader_t *r, int pick_live) {
  uint32_t raw = read_u32(r);
  if (!pick_live) return raw;
  uint32_t c = raw % m->config.class_count;
  uint32_t count = m->config.classes[c].block_count;
  for (uint32_t k = 0; k < count; k++) {
    uint32_t index = (raw / 16 + k) % count;
    if (m->live_size[c][index] != 0) return (c << POOL_HANDLE_CLASS_SHIFT) | index;
  }
  return raw;
}

static void op_free(model_t *m, reader_t *r, int pick_live) {
  uint32_t handle = pick_handle(m, r, pick_live);
  uint32_t c = handle >> POOL_HANDLE_CLASS_SHIFT;
  uint32_t index = handle & POOL_HANDLE_INDEX_MASK;
  int32_t expected;
  if (c >= m->config.class_count || index >= m->config.classes[c].block_count) {
    expected = POOL_E_FOREIGN;
    m->foreign++;
  } else {
    expected = model_free_block(m, c, index);
  }
  EXPECT(pool_free(m->pool, handle) == expected);
  if (expected == POOL_OK) EXPECT(pool_block_ptr(m->pool, handle) == NULL);
}

/* free_ptr at base + offset: a live block's start, or an arbitrary byte in or near the region. */
static void op_free_ptr(model_t *m, reader_t *r, int pick_live) {
  uint64_t offset;
  if (pick_live) {
    uint32_t handle = pick_handle(m, r, 1);
    uint32_t c = (handle >> POOL_HANDLE_CLASS_SHIFT) % m->config.class_count;
    uint32_t index = (handle & POOL_HANDLE_INDEX_MASK) % m->config.classes[c].block_count;
    offset = m->base_offset[c] + (uint64_t)index * m->config.classes[c].block_size_bytes;
  } else {
    offset = read_u32(r) % (m->data_bytes + 2 * POOL_PAGE_BYTES);
  }
  uint32_t c = 0;
  while (c + 1 < m->config.class_count && m->base_offset[c + 1] <= offset) c++;
  uint64_t within = offset - m->base_offset[c];
  uint32_t size = m->config.classes[c].block_size_bytes;
  int32_t expected;
  if (offset >= m->data_bytes) {
    expected = POOL_E_FOREIGN;
    m->foreign++;
  } else if (within % size != 0 || within / size >= m->config.classes[c].block_count) {
    expected = POOL_E_MISALIGNED;
    m->misaligned++;
  } else {
    expected = model_free_block(m, c, (uint32_t)(within / size));
  }
  EXPECT(pool_free_ptr(m->pool, (uint8_t *)pool_base(m->pool) + offset) == expected);
}

static void op_stats(const model_t *m) {
  pool_stats_t s;
  EXPECT(pool_stats(m->pool, &s) == POOL_OK);
  EXPECT(s.abi_version == POOL_ABI_VERSION && s.class_count == m->config.class_count);
  EXPECT(s.region_bytes == model_region_bytes(&m->config) && s.data_bytes == m->data_bytes);
  EXPECT(s.alloc_too_large_total == m->too_large);
  EXPECT(s.invalid_free_foreign_total == m->foreign);
  EXPECT(s.invalid_free_misaligned_total == m->misaligned);
  EXPECT(s.invalid_free_double_total == m->double_free);
  uint64_t total = 0;
  for (uint32_t c = 0; c < m->config.class_count; c++) {
    const pool_class_stats_t *cs = &s.classes[c];
    EXPECT(cs->block_size_bytes == m->config.classes[c].block_size_bytes);
    EXPECT(cs->blocks_total == m->config.classes[c].block_count);
    EXPECT(cs->blocks_in_use == m->in_use[c]);
    EXPECT(cs->blocks_in_use_high_watermark == m->high_watermark[c]);
    EXPECT(cs->alloc_total == m->alloc_total[c]);
    EXPECT(cs->alloc_failures_total == m->alloc_failures[c]);
    EXPECT(cs->bytes_requested_total == m->bytes_requested_total[c]);
    EXPECT(cs->bytes_requested_in_use == m->bytes_requested_in_use[c]);
    EXPECT(cs->base_offset_bytes == m->base_offset[c]);
    total += m->in_use[c];
  }
  EXPECT(s.blocks_in_use == total && pool_in_use(m->pool) == total);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader_t r = {data, size, 0};
  model_t m;
  memset(&m, 0, sizeof(m));
  int live = model_create(&m, &r);
  /* Each operation reads at least one byte, so the loop ends with the input (and at the cap). */
  for (uint32_t n = 0; n < FUZZ_OPS_MAX && r.at < r.size; n++) {
    uint8_t op = read_u8(&r);
    if (!live) {
      if (op % 8 == 0) live = model_create(&m, &r);
      continue;
    }
    switch (op % 9) {
      case 0: case 1: case 2: op_alloc(&m, &r); break;
      case 3: op_free(&m, &r, 1); break;
      case 4: op_free(&m, &r, 0); break;
      case 5: op_free_ptr(&m, &r, 1); break;
      case 6: op_free_ptr(&m, &r, 0); break;
      case 7: op_stats(&m); break;
      default:
        op_stats(&m);
        model_destroy(&m);
        live = model_create(&m, &r);
        break;
    }
  }
  if (live) {
    op_stats(&m);
    model_destroy(&m);
  }
  return 0;
}
