/**
 * Every attempt of a run, rebuilt from its results: what the timeline and
 * the timings read. A run records nothing for them while it runs. A task
 * that ran once is described by its result alone (its one attempt started
 * at `startedAt`); a retried task's result also carries its earlier
 * attempts in `history`, and that frozen array holds the start of the last
 * attempt under a private symbol (no field on the common result).
 *
 * @module
 */

import type { AttemptHistory, TaskResult } from "./result.ts";
import type { AttemptRecord } from "./timeline.ts";

/** Where a retried task's history keeps its last attempt's start (not enumerable). */
const LAST_ATTEMPT_START: unique symbol = Symbol("lastAttemptStart");

type HistoryWithLastStart = readonly AttemptHistory[] & { [LAST_ATTEMPT_START]?: number };

/** A record whose lane is set once slots are laid out. */
type Placeable = { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] };

/**
 * Freezes the earlier attempts of a retried task into its result's
 * history, keeping `lastStartedAt` (the start of the attempt after them,
 * when there was one) for {@linkcode attemptRecords}.
 */
export function freezeHistory(
  earlier: AttemptHistory[],
  lastStartedAt: number | undefined,
): readonly AttemptHistory[] {
  if (lastStartedAt !== undefined) {
    Object.defineProperty(earlier, LAST_ATTEMPT_START, { value: lastStartedAt });
  }
  return Object.freeze(earlier);
}

/** The attempts of a run, and whether their lanes are AsyncQueue slots. */
export interface RunAttempts {
  readonly records: AttemptRecord[];
  /** True when the attempts ran on no named worker, so their lanes were laid out as slots. */
  readonly slots: boolean;
}

/**
 * One record per attempt of `results` that started: the earlier attempts
 * from `history`, the last from the result's own fields. An attempt with
 * no worker (AsyncQueue) is placed in the lowest slot free at its start,
 * so slots show how many attempts ran at once.
 */
export function attemptRecords(results: readonly TaskResult<unknown>[]): RunAttempts {
  const records: AttemptRecord[] = [];
  const unplaced: Placeable[] = [];
  const add = (record: Placeable, worker: number | null): void => {
    records.push(record);
    if (worker === null) unplaced.push(record);
  };
  for (const result of results) {
    if (result.startedAt === null) continue;
    const history = result.history as HistoryWithLastStart;
    for (const earlier of history) {
      add({
        taskId: result.taskId,
        name: result.name,
        attempt: earlier.attempt,
        worker: earlier.worker ?? -1,
        startedAt: earlier.startedAt,
        finishedAt: earlier.finishedAt,
        endedBy: earlier.endedBy,
        message: earlier.message,
      }, earlier.worker);
    }
    // A task cancelled while it waited to retry has no attempt after its history.
    if (history.length >= result.attempts || result.endedBy === null) continue;
    const startedAt = history.length === 0
      ? result.startedAt
      : history[LAST_ATTEMPT_START] ?? history[history.length - 1].finishedAt;
    add({
      taskId: result.taskId,
      name: result.name,
      attempt: result.attempts,
      worker: result.worker ?? -1,
      startedAt,
      finishedAt: result.finishedAt,
      endedBy: result.endedBy,
      message: result.message,
    }, result.worker);
  }
  if (unplaced.length > 0) placeInSlots(unplaced);
  return { records, slots: unplaced.length > 0 };
}

/** Interval partitioning: each attempt, by start, into the lowest slot already free. */
function placeInSlots(attempts: Placeable[]): void {
  attempts.sort((a, b) => a.startedAt - b.startedAt);
  const freeAt: number[] = [];
  for (const record of attempts) {
    let slot = freeAt.findIndex((time) => time <= record.startedAt);
    if (slot === -1) slot = freeAt.length;
    freeAt[slot] = Math.max(record.finishedAt, record.startedAt);
    record.worker = slot;
  }
}
