/**
 * pool/: the only code that touches libpool.
 *
 * @module
 */
export {
  Pool,
  POOL_LIMITS,
  type PoolClassConfig,
  type PoolOpenOptions,
  regionBytesFor,
  validatePoolClasses,
} from "./pool.ts";
export { Lease, LeaseReleasedError } from "./lease.ts";
export type { PoolClassStats, PoolInvalidFrees, PoolStats } from "./stats.ts";
export { defaultLibraryPath, POOL_STATUS } from "./ffi.ts";
