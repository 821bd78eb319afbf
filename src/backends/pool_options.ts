/**
 * The option checks both pooled queues share (`ThreadQueue`, `ProcessQueue`):
 * initializer, recycling, idle timeout, pipelining window and kill grace.
 *
 * @module
 */

import type { TaskSource } from "../core/executor.ts";
import { isTaskReference } from "../core/task_reference.ts";
import { checkArray, checkInteger, checkNonNegative, invalidMessage } from "../core/validate.ts";
import { defaultKillGrace, defaultMaxInFlightPerWorker, type PoolOptions } from "./pool.ts";

/**
 * The names a pooled queue adds to the shared queue options.
 *
 * @example
 * ```ts
 * import { poolOptionNames } from "./pool_options.ts";
 * console.log(poolOptionNames.includes("killGrace")); // true
 * ```
 */
export const poolOptionNames = [
  "initializer",
  "initArgs",
  "maxTasksPerWorker",
  "idleTimeout",
  "maxInFlightPerWorker",
  "killGrace",
] as const;

/**
 * Checks a pooled queue's pool options (the engine checks the shared ones)
 * and fills in the defaults. Throws a `TypeError` or `RangeError` naming
 * the first bad option.
 *
 * @example
 * ```ts
 * import { resolvePoolOptions } from "./pool_options.ts";
 * console.log(resolvePoolOptions({ killGrace: 50 }, "create queue").maxInFlightPerWorker); // 32
 * ```
 */
export function resolvePoolOptions(given: Record<string, unknown>, action: string): PoolOptions {
  const initializer = given.initializer;
  if (
    initializer !== undefined && typeof initializer !== "function" && !isTaskReference(initializer)
  ) {
    throw new TypeError(
      invalidMessage(action, "initializer", "a function or a task reference", initializer),
    );
  }
  const initArgs = given.initArgs === undefined
    ? []
    : checkArray(action, "initArgs", given.initArgs);
  const maxTasksPerWorker = given.maxTasksPerWorker ?? undefined;
  const idleTimeout = given.idleTimeout ?? undefined;
  return {
    initializer: initializer as TaskSource | undefined,
    initArgs,
    maxTasksPerWorker: maxTasksPerWorker === undefined
      ? undefined
      : checkInteger(action, "maxTasksPerWorker", maxTasksPerWorker, 1),
    idleTimeout: idleTimeout === undefined
      ? undefined
      : checkNonNegative(action, "idleTimeout", idleTimeout),
    maxInFlightPerWorker: given.maxInFlightPerWorker === undefined
      ? defaultMaxInFlightPerWorker
      : checkInteger(action, "maxInFlightPerWorker", given.maxInFlightPerWorker, 1),
    killGrace: given.killGrace === undefined
      ? defaultKillGrace
      : checkNonNegative(action, "killGrace", given.killGrace),
  };
}
