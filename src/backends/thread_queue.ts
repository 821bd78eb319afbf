/**
 * ThreadQueue: tasks run on a pool of Web Workers.
 *
 * @module
 */

import { TaskQueue } from "../core/task_queue.ts";
import type { QueueOptions } from "../core/queue_options.ts";
import { poolOptionNames, type PoolOptions, resolvePoolOptions } from "./pool_options.ts";
import { ThreadPool } from "./thread_pool.ts";

/**
 * Options of a {@linkcode ThreadQueue}: the shared queue options
 * ({@linkcode QueueOptions}) plus the pool's ({@linkcode PoolOptions}).
 * Durations are milliseconds.
 *
 * @example
 * ```ts
 * import { taskModule, ThreadQueue, type ThreadQueueOptions } from "@osiiso/osiiso";
 * const setup = taskModule(new URL("./setup.ts", import.meta.url));
 * const options: ThreadQueueOptions = {
 *   workers: 4,
 *   initializer: setup.openDatabase,
 *   initArgs: ["app.db"],
 *   maxTasksPerWorker: 10_000,
 *   idleTimeout: 30_000,
 * };
 * const q = new ThreadQueue(options);
 * await q.shutdown();
 * ```
 */
export interface ThreadQueueOptions extends QueueOptions, PoolOptions {}

/** Checks the pool's own options (the engine checks the shared ones). */
function threadPoolOptions(options: ThreadQueueOptions | undefined): PoolOptions {
  if (options === null || typeof options !== "object") return {};
  return resolvePoolOptions(options as Record<string, unknown>, "create queue");
}

/**
 * A queue whose tasks run on a pool of Web Workers: for CPU work, parsing,
 * compression, blocking synchronous code. The same API as `AsyncQueue`; a
 * task is a module export named with `taskModule()`, or a self-contained
 * function (sent as source: one that reads a variable from its
 * surroundings fails with `TaskSerializationError`). Arguments and results
 * are structured-cloned; the `transfer` task option moves buffers instead.
 *
 * Workers start on demand (`start()` boots the first one while you submit)
 * and stay until `shutdown()` (or `idleTimeout`).
 * A per-task timeout aborts the task's signal in the worker and, if the task
 * has not stopped after `killGrace`, terminates and replaces the worker.
 * Deno cannot yet terminate a worker stuck in synchronous code: the task is
 * still settled and the worker replaced, but the old thread spins on; use
 * `ProcessQueue` for code that may never yield. On Deno a live worker keeps
 * the program running: shut the queue down (`await using`, `shutdown()`),
 * or end it with `run(main)`.
 *
 * @example
 * ```ts
 * import { ThreadQueue } from "@osiiso/osiiso";
 * await using q = new ThreadQueue({ workers: 2 });
 * const h = q.submit((n: number) => {
 *   let a = 0, b = 1;
 *   for (let i = 0; i < n; i++) [a, b] = [b, a + b];
 *   return a;
 * }, [50]);
 * await q.run();
 * console.log(h.value()); // 12586269025
 * ```
 */
export class ThreadQueue extends TaskQueue {
  /** Creates a queue; see {@linkcode ThreadQueueOptions} for the options and defaults. */
  constructor(options?: ThreadQueueOptions) {
    super(options, new ThreadPool(threadPoolOptions(options)), poolOptionNames);
  }
}
