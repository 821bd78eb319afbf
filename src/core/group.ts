/**
 * Task groups: the handles of one `group()` call.
 *
 * @module
 */

import { asCompleted, type FinishedHandle } from "./as_completed.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { TaskHandle } from "./handle.ts";
import { RunSummary, type TaskResult } from "./result.ts";

/**
 * The handles of one `group()` call, in submission order.
 *
 * @example
 * ```ts
 * import { AsyncQueue } from "@osiiso/osiiso";
 * const q = new AsyncQueue();
 * const g = q.group((n: number) => n * 10, [1, 2, 3], { groupId: "tens" });
 * await q.run();
 * console.log(g.groupId, g.size, await g.values()); // "tens" 3 [10, 20, 30]
 * ```
 */
export class TaskGroup<T = unknown> implements Iterable<TaskHandle<T>> {
  /** The group id every handle carries. */
  readonly groupId: string;
  /** The handles, in submission order. */
  readonly handles: readonly TaskHandle<T>[];
  readonly #clock: Clock;

  /** Queues make groups; a group of hand-picked handles works too. */
  constructor(groupId: string, handles: Iterable<TaskHandle<T>>, clock: Clock = systemClock) {
    this.groupId = groupId;
    this.handles = [...handles];
    this.#clock = clock;
  }

  /** Number of handles. */
  get size(): number {
    return this.handles.length;
  }

  /** Iterates the handles in submission order. */
  [Symbol.iterator](): Iterator<TaskHandle<T>> {
    return this.handles[Symbol.iterator]();
  }

  /**
   * Waits for every handle; returns a summary of their results in
   * submission order (never throws). It does not start the queue.
   */
  async wait(): Promise<RunSummary<T>> {
    const start = this.#clock.now();
    const results: TaskResult<T>[] = [];
    for (const handle of this.handles) results.push(await handle.wait());
    return RunSummary.fromResults(results, { runStart: start, now: this.#clock.now() });
  }

  /**
   * Waits, then returns the values in submission order; throws
   * `ExecutionError` when any task failed or was cancelled.
   */
  async values(): Promise<T[]> {
    const summary = await this.wait();
    summary.raiseForErrors({ includeCancelled: true });
    return summary.results.map((result) => result.value as T);
  }

  /** Yields the handles in completion order. */
  asCompleted(): AsyncIterableIterator<FinishedHandle<T>> {
    return asCompleted(this.handles);
  }

  /** Cancels every unfinished handle; returns how many were cancelled. */
  cancel(): number {
    let count = 0;
    for (const handle of this.handles) if (handle.cancel()) count++;
    return count;
  }

  /** `TaskGroup('id', tasks=N)`: the group id and its size, for logs. */
  toString(): string {
    return `TaskGroup('${this.groupId}', tasks=${this.handles.length})`;
  }
}
