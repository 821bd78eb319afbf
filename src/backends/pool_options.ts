/**
 * The options both pooled queues (`ThreadQueue`, `ProcessQueue`) add to the
 * shared queue options, documented once here, and their check.
 *
 * @module
 */

import { isTaskReference, type TaskReference } from "../core/task_reference.ts";
import { checkArray, checkInteger, checkNonNegative, invalidMessage } from "../core/validate.ts";

/** Default bound of the pipelining window (`maxInFlightPerWorker`). */
export const defaultMaxInFlightPerWorker = 32;
/** Default grace between an abort and killing the worker, in ms (`killGrace`). */
export const defaultKillGrace = 1_000;

/**
 * The options of a pool of workers: Web Workers for `ThreadQueue`, child
 * processes for `ProcessQueue`. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import { type PoolOptions, ThreadQueue } from "@osiiso/osiiso";
 * const pool: PoolOptions = { maxTasksPerWorker: 10_000, idleTimeout: 30_000, killGrace: 500 };
 * const q = new ThreadQueue({ workers: 2, ...pool });
 * await q.shutdown();
 * ```
 */
export interface PoolOptions {
  /**
   * Run once in each worker before its first task (a task reference, or a
   * self-contained function); state it leaves in the worker (module or
   * global variables) is visible to the tasks that worker runs. If it
   * throws, the tasks sent to that worker fail with its error and the next
   * tasks go to a fresh worker (which runs it again).
   *
   * @default {undefined}
   */
  initializer?: TaskReference | ((...args: never[]) => unknown);
  /**
   * Arguments of the initializer, copied to each worker.
   *
   * @default {[]}
   */
  initArgs?: unknown[];
  /**
   * Replace a worker after this many attempts (it finishes those first);
   * `null` or `undefined`: never.
   *
   * @default {undefined}
   */
  maxTasksPerWorker?: number | null;
  /**
   * Stop a worker idle for this long; it is started again on demand. `null`
   * or `undefined`: never.
   *
   * @default {undefined}
   */
  idleTimeout?: number | null;
  /**
   * The most attempts each worker holds at once: the pipelining window that
   * makes tiny tasks cheap (they travel and are answered in batches). The
   * worker still runs them one at a time, in order. The pool sizes the
   * window to about 2 ms of work within this bound, so long tasks are sent
   * one at a time and the rest wait in priority order.
   *
   * @default {32}
   */
  maxInFlightPerWorker?: number;
  /**
   * After a timeout, cancel or forced shutdown aborts a running task, how
   * long the task may go on before its worker is terminated and replaced
   * (`ProcessQueue`: the child's whole process group is killed; also how
   * long a child asked to stop may take).
   *
   * @default {1000}
   */
  killGrace?: number;
}

/** The names a pooled queue adds to the shared queue options (unknown names are refused). */
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
 * and fills in the defaults; `null` becomes `undefined`. Throws a
 * `TypeError` or `RangeError` naming the first bad option.
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
    initializer: initializer as PoolOptions["initializer"],
    initArgs: initArgs as unknown[],
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
