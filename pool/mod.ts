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
export {
  BUDGET_BYTES_AUTO_MAX,
  BUDGET_BYTES_AUTO_MIN,
  BUDGET_FRACTION,
  type BudgetSource,
  type FileReader,
  type MemoryBudget,
  memoryBudget,
  type MemoryBudgetOptions,
} from "./budget.ts";
export {
  MAX_PROPERTIES_MAX,
  MAX_PROPERTIES_MIN,
  messageBytesMax,
  planPool,
  type PlanPoolOptions,
  planSummary,
  type PoolClass,
  type PoolPlan,
  PoolPlanError,
  type Profile,
  PROFILES,
} from "./plan.ts";
