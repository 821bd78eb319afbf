/**
 * What the `run(main)` runner sets for every queue of the process: the set
 * of started queues that a signal stops, and the signal on which no queue
 * admits tasks any more.
 *
 * @module
 */

import type { QueueEngine } from "./queue.ts";

/** The runner's set of started queues; each queue adds itself at `start()`. */
export let liveQueues: Set<QueueEngine> | undefined;

/** Makes every queue list itself in `registry` from `start()` until its workers stop. */
export function listLiveQueuesIn(registry: Set<QueueEngine>): void {
  liveQueues = registry;
}

/** The signal the runner is shutting down on: no queue admits tasks meanwhile. */
export let shuttingDownOn: string | undefined;

/**
 * Closes every queue of this process to new work (`ClosedError: queue is
 * shutting down (SIGTERM)`), or reopens them with `undefined`.
 */
export function refuseSubmissions(signal: string | undefined): void {
  shuttingDownOn = signal;
}
