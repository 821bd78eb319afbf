/**
 * AsyncQueue: tasks run as promises on the calling thread.
 *
 * @module
 */

import type { AttemptRequest, Executor } from "../core/executor.ts";
import { setFirstRunRehearsal } from "../core/first_run.ts";
import type { QueueOptions } from "../core/queue_options.ts";
import { contextOf } from "../core/queued_task.ts";
import { TaskQueue } from "../core/task_queue.ts";
import { resolveTaskReference } from "../core/task_reference.ts";
import { promiseHandlesPay } from "../runtime/detect.ts";
import { checkCallableSource } from "./callable_source.ts";
import { stderrProgressBoard } from "./progress.ts";

/**
 * Options of an {@linkcode AsyncQueue}: the shared queue options.
 *
 * @example
 * ```ts
 * import { AsyncQueue, type AsyncQueueOptions } from "@osiiso/osiiso";
 * const options: AsyncQueueOptions = { workers: 8, rate: 50, burst: 5 };
 * const q = new AsyncQueue(options);
 * await q.shutdown();
 * ```
 */
export type AsyncQueueOptions = QueueOptions;

/** Runs attempts on the calling thread. */
class AsyncExecutor implements Executor {
  readonly kind = "async" as const;
  // A started AsyncQueue's handles are mostly awaited (the p-limit idiom).
  readonly promiseHandles = promiseHandlesPay;
  readonly callsSource = true;

  validateSource(source: unknown, action: string): void {
    checkCallableSource(source, action);
  }

  autoWorkers(): number {
    const cpus = globalThis.navigator?.hardwareConcurrency ?? 1;
    return Math.max(4, Math.min(32, cpus * 4));
  }

  capacity(workers: number): number {
    return workers;
  }

  liveWorkers(): number | undefined {
    return undefined;
  }

  execute(request: AttemptRequest): unknown {
    if (!request.began()) return undefined; // onStart cancelled it
    const source = request.source;
    if (typeof source === "function") {
      const fn = source as (...args: unknown[]) => unknown;
      return request.bind ? fn(contextOf(request), ...request.args) : fn(...request.args);
    }
    return resolveTaskReference(source).then((fn) =>
      request.bind ? fn(contextOf(request), ...request.args) : fn(...request.args)
    );
  }

  start(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A queue whose tasks run as promises on the calling thread: for I/O-bound
 * work (HTTP fan-out, database clients). Any function works, sync or async,
 * closures included; a per-task timeout aborts the attempt's signal
 * (`bind: true` gives it to the task) and settles the attempt at once.
 *
 * @example
 * ```ts
 * import { AsyncQueue } from "@osiiso/osiiso";
 * const q = new AsyncQueue({ workers: 4 });
 * q.submit(async (name: string) => `fetched ${name}`, ["users"], { priority: 0 });
 * q.submit(async (name: string) => `fetched ${name}`, ["posts"], { retries: 2, timeout: 5_000 });
 * const summary = await q.run({ strict: true });
 * console.log(summary.values); // ["fetched users", "fetched posts"]
 * ```
 */
export class AsyncQueue extends TaskQueue {
  /** Creates a queue; see {@linkcode QueueOptions} for the options and defaults. */
  constructor(options?: AsyncQueueOptions) {
    super(options, new AsyncExecutor(), [], stderrProgressBoard);
  }
}

/**
 * A program's first run is rehearsed by this: one async task, awaited
 * through its handle, on a queue of its own (see `first_run.ts`).
 */
async function rehearse(): Promise<void> {
  const queue = new AsyncQueue({ workers: 1, progress: false });
  const handle = queue.submit(echo, [0]);
  await queue.run();
  await handle;
  await queue.shutdown();
}

/** The rehearsal's task: async, like most of an AsyncQueue's. */
function echo(value: number): Promise<number> {
  return Promise.resolve(value);
}

setFirstRunRehearsal(rehearse);
