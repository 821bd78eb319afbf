/**
 * One-call fan-out: build a queue, map a function over items, return the
 * values in input order.
 *
 * @module
 */

import type { CheckpointMapOptions } from "../core/checkpointed.ts";
import type { TaskOptions } from "../core/options.ts";
import type { TaskQueue } from "../core/task_queue.ts";
import type { BoundTaskFunction, Task, UnboundOptions } from "../core/queue_types.ts";
import { checkOptionsObject } from "../core/validate.ts";
import { AsyncQueue } from "./async_queue.ts";
import { ProcessQueue } from "./process_queue.ts";
import { ThreadQueue } from "./thread_queue.ts";

/**
 * Options of the shortcuts: the queue's `workers` and `rate`, the run's
 * `timeout` (it limits the whole run, not each task), any other task
 * option, and `checkpoint`, `key`, `namespace` to resume.
 *
 * @example
 * ```ts
 * import { amap, type MapOptions } from "@osiiso/osiiso";
 * const options: MapOptions = { workers: 4, retries: 2, timeout: 10_000 };
 * const lengths = await amap(async (word: string) => word.length, ["a", "bb"], options);
 * console.log(lengths); // [1, 2]
 * ```
 */
export interface MapOptions<T = never>
  extends Omit<TaskOptions, "timeout">, CheckpointMapOptions<T> {
  /** Concurrent workers (default: auto). */
  workers?: number;
  /** Attempts per second. */
  rate?: number;
  /** Limit of the whole run, in ms; tasks still running then are cancelled. */
  timeout?: number;
}

/** Runs `task(item)` for every item on `queue` and returns the values in input order. */
export async function mapOn<T, R>(
  queue: TaskQueue,
  task: Task<[T], R>,
  items: Iterable<T>,
  taskOptions: TaskOptions & CheckpointMapOptions<T>,
  runTimeout: number | undefined,
): Promise<Awaited<R>[]> {
  return await queue.scope(async (q) => {
    const group = q.group(task, items, taskOptions);
    await q.run({ timeout: runTimeout });
    return await group.values();
  });
}

/** Splits shortcut options into queue options, the run timeout and task options. */
export function splitMapOptions(
  action: string,
  options: unknown,
): { workers?: number; rate?: number; runTimeout?: number; taskOptions: TaskOptions } {
  const { workers, rate, timeout: runTimeout, ...taskOptions } = checkOptionsObject(
    action,
    "options",
    options,
  ) as MapOptions;
  const queueOptions: { workers?: number; rate?: number } = {};
  if (workers !== undefined) queueOptions.workers = workers;
  if (rate !== undefined) queueOptions.rate = rate;
  return { ...queueOptions, runTimeout, taskOptions: taskOptions as TaskOptions };
}

/**
 * `task(item)` for every item on a fresh {@linkcode AsyncQueue}; the values
 * in input order, or `ExecutionError` if any task failed or was cancelled
 * (every task still runs first).
 *
 * @example
 * ```ts
 * import { amap } from "@osiiso/osiiso";
 * const doubled = await amap(async (n: number) => n * 2, [3, 1, 2], { workers: 4 });
 * console.log(doubled); // [6, 2, 4]
 * ```
 */
export function amap<T, R>(
  task: BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options: MapOptions<T> & { bind: true },
): Promise<Awaited<R>[]>;
/** `task(item)` for every item (a task that takes no `TaskContext`, so no `bind: true`). */
export function amap<T, R, const O extends MapOptions<T> = MapOptions<T>>(
  task: Task<[T], R>,
  items: Iterable<T>,
  options?: UnboundOptions<O, MapOptions<T>>,
): Promise<Awaited<R>[]>;
export function amap<T, R>(
  task: Task<[T], R> | BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options?: MapOptions<T>,
): Promise<Awaited<R>[]> {
  const { runTimeout, taskOptions, ...queueOptions } = splitMapOptions("map tasks", options);
  return mapOn(new AsyncQueue(queueOptions), task as Task<[T], R>, items, taskOptions, runTimeout);
}

/**
 * `task(item)` for every item on a fresh {@linkcode ThreadQueue} (Web
 * Workers); the values in input order, or `ExecutionError` if any task
 * failed or was cancelled. The task is a `taskModule` export or a
 * self-contained function; the pool is shut down before it returns.
 *
 * @example
 * ```ts
 * import { tmap } from "@osiiso/osiiso";
 * const squares = await tmap((n: number) => n * n, [1, 2, 3], { workers: 2 });
 * console.log(squares); // [1, 4, 9]
 * ```
 */
export function tmap<T, R>(
  task: BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options: MapOptions<T> & { bind: true },
): Promise<Awaited<R>[]>;
/** `task(item)` for every item (a task that takes no `TaskContext`, so no `bind: true`). */
export function tmap<T, R, const O extends MapOptions<T> = MapOptions<T>>(
  task: Task<[T], R>,
  items: Iterable<T>,
  options?: UnboundOptions<O, MapOptions<T>>,
): Promise<Awaited<R>[]>;
export function tmap<T, R>(
  task: Task<[T], R> | BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options?: MapOptions<T>,
): Promise<Awaited<R>[]> {
  const { runTimeout, taskOptions, ...queueOptions } = splitMapOptions("map tasks", options);
  return mapOn(new ThreadQueue(queueOptions), task as Task<[T], R>, items, taskOptions, runTimeout);
}

/**
 * `task(item)` for every item on a fresh {@linkcode ProcessQueue}
 * (persistent subprocesses); the values in input order, or `ExecutionError`
 * if any task failed or was cancelled. The children are stopped before it
 * returns.
 *
 * @example
 * ```ts
 * import { pmap } from "@osiiso/osiiso";
 * const cubes = await pmap((n: number) => n ** 3, [1, 2, 3], { workers: 2 });
 * console.log(cubes); // [1, 8, 27]
 * ```
 */
export function pmap<T, R>(
  task: BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options: MapOptions<T> & { bind: true },
): Promise<Awaited<R>[]>;
/** `task(item)` for every item (a task that takes no `TaskContext`, so no `bind: true`). */
export function pmap<T, R, const O extends MapOptions<T> = MapOptions<T>>(
  task: Task<[T], R>,
  items: Iterable<T>,
  options?: UnboundOptions<O, MapOptions<T>>,
): Promise<Awaited<R>[]>;
export function pmap<T, R>(
  task: Task<[T], R> | BoundTaskFunction<[T], R>,
  items: Iterable<T>,
  options?: MapOptions<T>,
): Promise<Awaited<R>[]> {
  const { runTimeout, taskOptions, ...queueOptions } = splitMapOptions("map tasks", options);
  return mapOn(
    new ProcessQueue(queueOptions),
    task as Task<[T], R>,
    items,
    taskOptions,
    runTimeout,
  );
}
