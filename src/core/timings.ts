/**
 * The timings of a run: how long tasks took and waited, how many finished
 * per second, and how busy each worker was. Pure: computed from finished
 * results and attempt records when asked, so a run pays nothing for them.
 *
 * @module
 */

import type { AttemptRecord } from "./timeline.ts";

/**
 * Percentiles of a set of durations, in milliseconds. Nearest rank: the
 * p-th percentile of n sorted values is the value at rank ⌈p/100 · n⌉
 * (from 1), so it is always one of the values measured. All four are `0`
 * when there are no values.
 */
export interface Percentiles {
  /** The median. */
  readonly p50: number;
  /** 90 % of the values are at most this. */
  readonly p90: number;
  /** 99 % of the values are at most this. */
  readonly p99: number;
  /** The largest value. */
  readonly max: number;
}

/** The timings of a run, from {@linkcode computeTimings}. */
export interface Timings {
  /**
   * From the start of a task's first attempt to the end of its last (retry
   * waits included), over the tasks that started.
   */
  readonly duration: Percentiles;
  /**
   * From submission, or from the due time of a delayed task when that is
   * later, to the start of the first attempt, over the tasks that started.
   */
  readonly wait: Percentiles;
  /** Tasks that succeeded or failed, per second of the run. */
  readonly throughput: number;
  /**
   * Each worker's busy share in [0, 1]: the time covered by its attempts
   * (overlapping attempts counted once) over the length of the run.
   */
  readonly busy: Readonly<Record<string, number>>;
}

/** The fields of a finished task that the timings read (a `TaskResult` has them). */
export interface TimedResult {
  /** How the task finished. */
  readonly status: "succeeded" | "failed" | "cancelled";
  /** When the task was submitted. */
  readonly createdAt: number;
  /** When it was due, for a delayed task; `null` otherwise. */
  readonly scheduledFor: number | null;
  /** When its first attempt started; `null` if it never started. */
  readonly startedAt: number | null;
  /** When it finished. */
  readonly finishedAt: number;
}

/** The span the throughput and busy shares are measured over, in ms on the queue's clock. */
export interface TimingWindow {
  /** The run's start. */
  readonly start: number;
  /** The run's end. */
  readonly end: number;
}

const NO_PERCENTILES: Percentiles = Object.freeze({ p50: 0, p90: 0, p99: 0, max: 0 });

/**
 * Computes the {@linkcode Timings} of a run from its results and attempt
 * records. `window` is the run's span; by default, from the first attempt's
 * start to the last finish. Busy shares are keyed by `String(worker)`.
 */
export function computeTimings(
  results: Iterable<TimedResult>,
  attempts: readonly AttemptRecord[],
  window?: TimingWindow,
): Timings {
  const durations: number[] = [];
  const waits: number[] = [];
  let finished = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const result of results) {
    if (result.status !== "cancelled") finished++;
    if (result.finishedAt > last) last = result.finishedAt;
    if (result.startedAt === null) continue;
    if (result.startedAt < first) first = result.startedAt;
    durations.push(Math.max(0, result.finishedAt - result.startedAt));
    const due = Math.max(result.createdAt, result.scheduledFor ?? result.createdAt);
    waits.push(Math.max(0, result.startedAt - due));
  }
  for (const attempt of attempts) {
    if (attempt.startedAt < first) first = attempt.startedAt;
    if (attempt.finishedAt > last) last = attempt.finishedAt;
  }
  const start = window?.start ?? (first === Infinity ? 0 : first);
  const end = window?.end ?? (last === -Infinity ? start : last);
  const span = Math.max(0, end - start);
  return {
    duration: percentiles(durations),
    wait: percentiles(waits),
    throughput: span > 0 ? finished / (span / 1000) : 0,
    busy: busyShares(attempts, start, end),
  };
}

/** Nearest-rank percentiles of `values` (sorted in place). */
export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return NO_PERCENTILES;
  values.sort((a, b) => a - b);
  const rank = (p: number): number => values[Math.ceil((p / 100) * values.length) - 1];
  return { p50: rank(50), p90: rank(90), p99: rank(99), max: values[values.length - 1] };
}

/** Per lane, the union of its attempts' intervals inside [start, end], over end − start. */
function busyShares(
  attempts: readonly AttemptRecord[],
  start: number,
  end: number,
): Record<string, number> {
  const byLane = new Map<string, AttemptRecord[]>();
  for (const attempt of attempts) {
    const key = String(attempt.worker);
    const list = byLane.get(key);
    if (list === undefined) byLane.set(key, [attempt]);
    else list.push(attempt);
  }
  const span = end - start;
  const busy: Record<string, number> = {};
  for (const [lane, list] of byLane) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    let covered = 0;
    let runStart = 0;
    let runEnd = -Infinity;
    for (const attempt of list) {
      const from = Math.max(start, attempt.startedAt);
      const to = Math.min(end, attempt.finishedAt);
      if (to <= from) continue;
      if (from > runEnd) {
        if (runEnd > runStart) covered += runEnd - runStart;
        runStart = from;
        runEnd = to;
      } else if (to > runEnd) runEnd = to;
    }
    if (runEnd > runStart) covered += runEnd - runStart;
    busy[lane] = span > 0 ? Math.min(1, covered / span) : 0;
  }
  return busy;
}
