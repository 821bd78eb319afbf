/**
 * The types a queue's submit methods take and return: task bodies, bound
 * tasks, group entries and the queue's counters.
 *
 * @module
 */

import type { CheckpointMapOptions } from "./checkpointed.ts";
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

/**
 * What the type checker says when `bind: true` is given for a task whose
 * first parameter is not a {@linkcode TaskContext}.
 */
export type BindNeedsContext =
  "bind: true passes a TaskContext first, but this task's first parameter is not one";

/**
 * What the type checker asks for as `args` when a task that takes a
 * {@linkcode TaskContext} first is submitted without `bind: true`.
 */
export type ContextNeedsBind =
  "this task takes a TaskContext first: pass { bind: true } in its options";

/**
 * The `args` of a task submitted without `bind: true`: its parameters, or
 * {@linkcode ContextNeedsBind} when the first of them is a `TaskContext`.
 */
export type UnboundArgs<A extends unknown[]> = A extends [TaskContext, ...unknown[]]
  ? [ContextNeedsBind]
  : A;

/**
 * The options of a task submitted without `bind: true`: `O` with no names
 * outside `Allowed` (`TaskOptions`, plus the checkpoint options where a call
 * takes them; a record of any names is checked when submitted);
 * `bind: true` there is {@linkcode BindNeedsContext} (the task's first
 * parameter would receive the context).
 */
export type UnboundOptions<O, Allowed = TaskOptions> = O extends { bind: true }
  ? { bind?: false | BindNeedsContext }
  : string extends keyof O ? O
  : O & { [K in Exclude<keyof O, keyof Allowed>]: never };

/** Counters of a queue at one moment. */
export interface QueueStats {
  /** Queued and scheduled tasks (waiting retries included). */
  readonly pending: number;
  /** Tasks holding a worker: running, or held by the rate gate (a task waiting for its retry is pending). */
  readonly active: number;
  /** Tasks waiting for their `delay` / `runAt`, or for a retry. */
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
  map(
    items: Iterable<A[0]>,
    overrides?: TaskOptions & CheckpointMapOptions<A[0]>,
  ): TaskHandle<Awaited<R>>[];
  /** `fn(...args)` for each argument list. */
  starmap(
    argLists: Iterable<A>,
    overrides?: TaskOptions & CheckpointMapOptions<A>,
  ): TaskHandle<Awaited<R>>[];
  /** A group of `fn(item)` for each item. */
  group(
    items: Iterable<A[0]>,
    overrides?: TaskOptions & CheckpointMapOptions<A[0]>,
  ): TaskGroup<Awaited<R>>;
}

/** One entry of a heterogeneous group: `[task, ...args]`. */
// deno-lint-ignore no-explicit-any
export type GroupEntry = readonly [Task<any[], unknown>, ...unknown[]];
