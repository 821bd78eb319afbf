/**
 * What the behaviour suite knows about a backend, and the fixture tasks it
 * runs.
 *
 * @module
 */

import type * as Tasks from "../fixtures/behaviour_tasks.ts";
import { type QueueOptions, type TaskModule, taskModule, type TaskQueue } from "../../mod.ts";

/**
 * The fixture tasks as task references: the worker (or AsyncQueue) imports
 * the module once and calls the named export.
 */
export const behaviourTasks: TaskModule<typeof Tasks> = taskModule<typeof Tasks>(
  new URL("../fixtures/behaviour_tasks.ts", import.meta.url),
);

/** The type of {@linkcode behaviourTasks}. */
export type BehaviourTasks = typeof behaviourTasks;

/** What the suite needs to know about a backend. */
export interface BackendUnderTest {
  /** Which backend; a few expectations differ (for example `result.worker`). */
  readonly name: "async" | "thread" | "process";
  /** Makes a fresh queue of this backend with `options`. */
  make(options?: QueueOptions): TaskQueue;
  /** The task references to run (normally {@linkcode behaviourTasks}). */
  readonly tasks: BehaviourTasks;
  /**
   * The backend's shortcut (`amap`, `tmap`, `pmap`): runs `fn` over `items`
   * on a fresh queue and returns the values in input order.
   */
  readonly shortcut?: (
    fn: unknown,
    items: readonly unknown[],
    options?: Record<string, unknown>,
  ) => Promise<unknown[]>;
}
