/**
 * The types a queue's submit methods take and return: task bodies, bound
 * tasks, group entries and the queue's counters.
 *
 * @module
 */

import type { TaskContext } from "./context.ts";
import type { TaskGroup } from "./group.ts";
import type { TaskHandle } from "./handle.ts";
import type { TaskOptions } from "./options.ts";
import type { TaskReference } from "./task_reference.ts";

/** A task body: a function, or a reference to a module export (`taskModule`). */
export type Task<A extends unknown[], R> = ((...args: A) => R) | TaskReference<(...args: A) => R>;
/** A task body that takes a {@linkcode TaskContext} first (`bind: true`). */
export type BoundTaskFunction<A extends unknown[], R> =
  | ((context: TaskContext, ...args: A) => R)
  | TaskReference<(context: TaskContext, ...args: A) => R>;

/** `TaskOptions` with `bind: true`. */
export type BindOptions = TaskOptions & { bind: true };

/** Counters of a queue at one moment. */
export interface QueueStats {
  /** Queued and scheduled tasks. */
  readonly pending: number;
  /** Tasks holding a worker: running, or sleeping for the rate gate or a retry. */
  readonly active: number;
  /** Tasks waiting for their `delay` / `runAt`. */
  readonly scheduled: number;
  /** Results recorded since the last `reset()` / `clearResults()`. */
  readonly completed: number;
  /** Live workers. */
  readonly workers: number;
  /** Whether the queue has been shut down. */
  readonly closed: boolean;
}

/** A function bound to a queue and options by `TaskQueue.task`. */
export interface BoundTask<A extends unknown[], R> {
  /** Submits `fn(...args)` with the bound options. */
  (...args: A): TaskHandle<Awaited<R>>;
  /** The task's name. */
  readonly taskName: string;
  /** Submits with per-call option overrides. */
  submit(args: A, overrides?: TaskOptions): TaskHandle<Awaited<R>>;
  /** A submitter with these overrides on top of the bound options (checked now). */
  withOptions(overrides: TaskOptions): (...args: A) => TaskHandle<Awaited<R>>;
  /** `fn(item)` for each item (one-argument functions). */
  map(items: Iterable<A[0]>, overrides?: TaskOptions): TaskHandle<Awaited<R>>[];
  /** `fn(...args)` for each argument list. */
  starmap(argLists: Iterable<A>, overrides?: TaskOptions): TaskHandle<Awaited<R>>[];
  /** A group of `fn(item)` for each item. */
  group(items: Iterable<A[0]>, overrides?: TaskOptions): TaskGroup<Awaited<R>>;
}

/** One entry of a heterogeneous group: `[task, ...args]`. */
// deno-lint-ignore no-explicit-any
export type GroupEntry = readonly [Task<any[], unknown>, ...unknown[]];
