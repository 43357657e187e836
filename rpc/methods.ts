/**
 * THE method table. Adding a method is one entry here, importing its spec from
 * `rpc/handlers/<area>.ts`. Ids are table positions, so append new methods at the end.
 *
 * @module
 */

import { sheafGlue, sheafOverlap } from "./handlers/sheaf.ts";
import { systemConfig, systemEcho, systemMethods, systemPool } from "./handlers/system.ts";
import {
  worknodeCreate,
  worknodeDelete,
  worknodeGet,
  worknodeList,
  worknodeUpdate,
} from "./handlers/worknode.ts";
import type { AnyMethodSpec } from "./method.ts";

/** Every production method, in id order. */
export const METHODS: readonly AnyMethodSpec[] = Object.freeze([
  systemMethods,
  systemPool,
  systemConfig,
  systemEcho,
  worknodeCreate,
  worknodeGet,
  worknodeUpdate,
  worknodeDelete,
  worknodeList,
  sheafOverlap,
  sheafGlue,
]);
