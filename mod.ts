/**
 * osiiso: structured task queues for Deno and Bun, one API over three
 * backends: {@linkcode AsyncQueue} (promises), {@linkcode ThreadQueue} (Web
 * Workers) and {@linkcode ProcessQueue} (persistent subprocesses). Submit
 * tasks, set options (priority, retries with backoff, timeouts that stop
 * work, must-complete on shutdown, hooks), run, and get a structured
 * {@linkcode RunSummary}.
 *
 * @example
 * ```ts
 * import { AsyncQueue, run } from "@osiiso/osiiso";
 *
 * async function fetchName(name: string): Promise<string> {
 *   await new Promise((r) => setTimeout(r, 100));
 *   return `fetched ${name}`;
 * }
 *
 * await run(async () => {
 *   await using q = new AsyncQueue({ workers: 4 });
 *   q.submit(fetchName, ["users"], { priority: 0 });
 *   q.submit(fetchName, ["posts"], { retries: 2, retryDelay: 250, timeout: 5_000 });
 *   const summary = await q.run({ strict: true });
 *   console.log(summary.values);
 * });
 * ```
 *
 * @module
 */

export { AsyncQueue, type AsyncQueueOptions } from "./src/backends/async_queue.ts";
export { amap, type MapOptions, pmap, tmap } from "./src/backends/shortcuts.ts";
export { connectQueue, type RemoteQueue } from "./src/backends/remote_queue.ts";
export { ProcessQueue, type ProcessQueueOptions } from "./src/backends/process_queue.ts";
export { ThreadQueue, type ThreadQueueOptions } from "./src/backends/thread_queue.ts";
export type { PoolOptions } from "./src/backends/pool_options.ts";
export type {
  ChildPermissions,
  ChildPermissionsObject,
  ChildPermissionValue,
} from "./src/runtime/child_contract.ts";
export { asCompleted, type FinishedHandle } from "./src/core/as_completed.ts";
export { type Clock, ManualClock, systemClock, type Timer } from "./src/core/clock.ts";
export { Checkpoint, type CheckpointHit, type CheckpointOptions } from "./src/core/checkpoint.ts";
export type { CheckpointKeyFunction } from "./src/core/checkpoint_key.ts";
export type { CheckpointMapOptions } from "./src/core/checkpointed.ts";
export type { TaskContext } from "./src/core/context.ts";
export {
  CancelledError,
  ClosedError,
  ExecutionError,
  InvalidStateError,
  OsiisoError,
  QueueFullError,
  TaskSerializationError,
  TaskTimeoutError,
  type WorkerCrashDetails,
  WorkerCrashedError,
} from "./src/core/errors.ts";
export type { EndedBy, TaskSource } from "./src/core/executor.ts";
export { TaskGroup } from "./src/core/group.ts";
export { TaskHandle, type TaskHandleInit, type TaskState } from "./src/core/handle.ts";
export type { TaskOptions } from "./src/core/options.ts";
export { TaskQueue } from "./src/core/task_queue.ts";
export type {
  BindNeedsContext,
  BindOptions,
  BoundTask,
  BoundTaskFunction,
  ContextNeedsBind,
  GroupEntry,
  QueueStats,
  Task,
  UnboundArgs,
  UnboundOptions,
} from "./src/core/queue_types.ts";
export type {
  FailPolicy,
  HookName,
  QueueMode,
  QueueOptions,
  RunOptions,
  TimeoutPolicy,
} from "./src/core/queue_options.ts";
export type { ProgressMode } from "./src/core/progress_line.ts";
export {
  type AttemptHistory,
  type CancelReason,
  type ErrorJSON,
  type FormatOptions,
  type FromResultsOptions,
  type RaiseForErrorsOptions,
  type RunInterruption,
  RunSummary,
  type RunSummaryInit,
  type RunSummaryJSON,
  TaskResult,
  type TaskResultInit,
  type TaskResultJSON,
  type TaskStatus,
} from "./src/core/result.ts";
export { type TaskModule, taskModule, type TaskReference } from "./src/core/task_reference.ts";
export type { TimelineOptions } from "./src/core/timeline.ts";
export type { Percentiles, Timings } from "./src/core/timings.ts";
export { run, type RunnerOptions } from "./src/run.ts";

// A Checkpoint opens its file through the runtime's SQLite binding, which
// the engine cannot import (src/core holds no runtime code): it is handed
// over here, once, for every program that imports the library.
import { useSqlite } from "./src/core/checkpoint.ts";
import { openSqlite } from "./src/runtime/sqlite.ts";
useSqlite(openSqlite);
