/*
 * libpool: a boot-sized slab pool of fixed-size blocks in one mmap.
 *
 * A pool is created once from a configuration of 1..16 size classes. Every byte it will ever
 * hand out is mapped by pool_create (one mmap, optionally prefaulted and mlocked); after that
 * the library performs no malloc, free, mmap or munmap until pool_destroy. Allocation picks the
 * smallest class whose block size fits the request and pops that class's free stack: O(1), no
 * run-time loop depends on the number of blocks. When that class is empty the call fails with
 * POOL_E_EXHAUSTED; it never falls back to a bigger class, so each class's budget (sized by the
 * boot plan for its workload) cannot be drained by requests meant for another class.
 *
 * Thread-safety: a pool has exactly one owner (one isolate, worker or thread) and is not
 * synchronised; calls on one pool must not overlap. Two pools in one process share no state and
 * may be used from different threads independently. The library has no global state.
 *
 * Region layout (exactly pool_region_bytes(config) bytes, page aligned):
 *   [class 0 blocks][pad to 4096][class 1 blocks][pad]...[metadata]
 * where metadata is one control page (the pool_t itself) followed by a 4-byte free-stack slot
 * and a 4-byte state word per block, rounded up to 4096. Block data starts at offset 0, so a
 * block's offset is class_base_offset[c] + block_index * block_size[c].
 *
 * Handles: a successful pool_alloc returns (class_index << 24) | block_index, always >= 0.
 * Failures are negative pool_status_t values.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever pool_config_t or pool_stats_t change layout. */
#define POOL_ABI_VERSION 1u

#define POOL_CLASS_COUNT_MAX 16u
#define POOL_BLOCK_COUNT_MAX 0xFFFFFFu /* 2^24 - 1: the block index field of a handle */
#define POOL_BLOCK_ALIGN_BYTES 64u
#define POOL_PAGE_BYTES 4096u
#define POOL_HANDLE_CLASS_SHIFT 24u
#define POOL_HANDLE_INDEX_MASK 0xFFFFFFu

/* Flags of pool_config_t.flags. */
#define POOL_FLAG_PREFAULT 1u /* touch every page at create so no fault happens later */
#define POOL_FLAG_MLOCK 2u    /* mlock the whole region at create (fails with POOL_E_MLOCK_FAILED) */

/* Status codes: POOL_OK or a negative error; pool_alloc returns a handle >= 0 instead of OK. */
typedef enum pool_status_t {
  POOL_OK = 0,
  POOL_E_EXHAUSTED = -1,        /* the fitting class has no free block */
  POOL_E_TOO_LARGE = -2,        /* the request exceeds the largest block size */
  POOL_E_FOREIGN = -3,          /* the handle or pointer does not belong to this pool */
  POOL_E_MISALIGNED = -4,       /* the pointer is inside the pool but not at a block start */
  POOL_E_DOUBLE_FREE = -5,      /* the block is already free */
  POOL_E_INVALID_CONFIG = -6,   /* the configuration breaks a rule listed at pool_config_t */
  POOL_E_MMAP_FAILED = -7,      /* the one mmap at create failed */
  POOL_E_MLOCK_FAILED = -8,     /* POOL_FLAG_MLOCK was set and mlock failed */
  POOL_E_INVALID_ARGUMENT = -9, /* a null pointer or a zero size */
  POOL_E_USE_AFTER_FREE = -10   /* POOL_DEBUG only: a free block's poison was overwritten */
} pool_status_t;

typedef struct pool_class_config_t {
  uint32_t block_size_bytes; /* >= 64, a multiple of 64, strictly increasing across classes */
  uint32_t block_count;      /* 1 .. POOL_BLOCK_COUNT_MAX */
} pool_class_config_t;

/* Rules: class_count in 1..16; classes[0..class_count) as described above; unused entries are
 * ignored; flags is a combination of POOL_FLAG_*. */
typedef struct pool_config_t {
  uint32_t class_count;
  uint32_t flags;
  pool_class_config_t classes[POOL_CLASS_COUNT_MAX];
} pool_config_t;

/* Every field is a uint64_t so the layout has no padding and reads the same from any FFI. */
typedef struct pool_class_stats_t {
  uint64_t block_size_bytes;
  uint64_t blocks_total;
  uint64_t blocks_in_use;
  uint64_t blocks_in_use_high_watermark;
  uint64_t alloc_total;          /* successful allocations */
  uint64_t alloc_failures_total; /* POOL_E_EXHAUSTED answers for requests fitting this class */
  uint64_t bytes_requested_total;
  uint64_t bytes_requested_in_use;
  uint64_t base_offset_bytes; /* offset of block 0 from pool_base() */
} pool_class_stats_t;

typedef struct pool_stats_t {
  uint32_t abi_version; /* POOL_ABI_VERSION of the library that filled the struct */
  uint32_t class_count;
  uint64_t region_bytes; /* the whole mapping, metadata included */
  uint64_t data_bytes;   /* the block area at the start of the region */
  uint64_t blocks_in_use;
  uint64_t alloc_too_large_total;
  uint64_t invalid_free_foreign_total;
  uint64_t invalid_free_misaligned_total;
  uint64_t invalid_free_double_total;
  uint64_t use_after_free_detected_total; /* POOL_DEBUG builds only; 0 otherwise */
  pool_class_stats_t classes[POOL_CLASS_COUNT_MAX];
} pool_stats_t;

typedef struct pool pool_t;

/* The ABI version this library was built with. */
uint32_t pool_abi_version(void);
/* sizeof(pool_config_t) and sizeof(pool_stats_t), so an FFI caller can check its own layout. */
uint32_t pool_config_bytes(void);
uint32_t pool_stats_bytes(void);

/* Validates config; returns POOL_OK or POOL_E_INVALID_CONFIG (or INVALID_ARGUMENT for NULL). */
int32_t pool_config_check(const pool_config_t *config);

/* Exactly the bytes pool_create maps for config, or 0 when the config is invalid:
 * sum_c roundUp(size_c * count_c, 4096) + roundUp(4096 + 8 * sum_c count_c, 4096). */
uint64_t pool_region_bytes(const pool_config_t *config);

/* Maps and initialises a pool; on success stores it in *out and returns POOL_OK. On failure
 * *out is set to NULL and nothing stays mapped. */
int32_t pool_create(const pool_config_t *config, pool_t **out);

/* Unmaps the pool (live blocks included). The pointer is invalid afterwards. */
int32_t pool_destroy(pool_t *pool);

/* Allocates a block of the smallest class with block_size >= size_bytes. Returns a handle >= 0
 * or POOL_E_EXHAUSTED / POOL_E_TOO_LARGE / POOL_E_INVALID_ARGUMENT (size 0) /
 * POOL_E_USE_AFTER_FREE (POOL_DEBUG; the damaged block is quarantined, retry is safe). */
int32_t pool_alloc(pool_t *pool, uint32_t size_bytes);

/* Frees a block by handle: POOL_OK, POOL_E_FOREIGN (counted) or POOL_E_DOUBLE_FREE (counted). */
int32_t pool_free(pool_t *pool, uint32_t handle);

/* Frees a block by its start address: POOL_OK, POOL_E_FOREIGN, POOL_E_MISALIGNED or
 * POOL_E_DOUBLE_FREE; every error is counted and leaves the pool unchanged. */
int32_t pool_free_ptr(pool_t *pool, const void *ptr);

/* Start of the block area (offset 0 of every base_offset_bytes). */
void *pool_base(pool_t *pool);

/* Address of a live block's first byte, or NULL for a foreign or free handle. */
void *pool_block_ptr(pool_t *pool, uint32_t handle);

/* Blocks currently in use across all classes. */
uint32_t pool_in_use(pool_t *pool);

/* Fills *out (abi_version = POOL_ABI_VERSION) and returns POOL_OK. */
int32_t pool_stats(pool_t *pool, pool_stats_t *out);

/* A static English name for a status, e.g. "POOL_E_EXHAUSTED"; "POOL_E_UNKNOWN" otherwise. */
const char *pool_status_name(int32_t status);

#ifdef __cplusplus
}
#endif

#endif /* POOL_H */
