/**
 * Attempt records of a made-up run, for the timeline and timings tests:
 * tasks spread over lanes, with failures that retry, timeouts, a crashed
 * worker and tasks cancelled before they started. Seeded, so a failing test
 * can be replayed.
 *
 * @module
 */

import type { EndedBy } from "../../src/core/executor.ts";
import type { AttemptRecord, TimelineTotals } from "../../src/core/timeline.ts";
import { seededRandom } from "./random.ts";

/** The shape of a simulated run. */
export interface SimulationOptions {
  readonly tasks: number;
  readonly workers: number;
  readonly seed?: number;
  /** Shortest and longest attempt, in ms. Default 0.1 and 1. */
  readonly minMs?: number;
  readonly maxMs?: number;
  /** Pause before a retry, in ms. Default 20. */
  readonly retryDelay?: number;
  /** Tasks cancelled before they started, counted in the totals only. Default 0. */
  readonly cancelledBeforeStart?: number;
  /** The share of attempts that end each way other than returning. */
  readonly rates?: Readonly<Partial<Record<Exclude<EndedBy, "returned">, number>>>;
}

/** A simulated run: its attempts and its totals. */
export interface SimulatedRun {
  readonly records: AttemptRecord[];
  readonly totals: TimelineTotals;
}

const RETRIES = 2;
const DEFAULT_RATES: Readonly<Record<Exclude<EndedBy, "returned">, number>> = {
  threw: 0.04,
  timeout: 0.01,
  "worker-crashed": 0.001,
  cancelled: 0,
};

/**
 * Runs `tasks` tasks on `workers` lanes (each lane runs one attempt at a
 * time; a free lane takes a due retry before a fresh task). By default 4 %
 * of attempts throw, 1 % time out (after 1.5 × `maxMs`) and 0.1 % crash
 * their worker; a task retries twice, except after a cancelled attempt
 * (the task is cancelled). Lane keys are numbers from 0.
 *
 * @example
 * ```ts
 * const { records, totals } = simulateRun({ tasks: 100, workers: 4 });
 * ```
 */
export function simulateRun(options: SimulationOptions): SimulatedRun {
  const random = seededRandom(options.seed ?? 1);
  const minMs = options.minMs ?? 0.1;
  const maxMs = options.maxMs ?? 1;
  const retryDelay = options.retryDelay ?? 20;
  const rates = { ...DEFAULT_RATES, ...options.rates };
  const outcomeOf = (roll: number): EndedBy => {
    for (const outcome of ["threw", "timeout", "worker-crashed", "cancelled"] as const) {
      if (roll < rates[outcome]) return outcome;
      roll -= rates[outcome];
    }
    return "returned";
  };
  const freeAt = new Array<number>(options.workers).fill(0);
  const retries: { task: number; attempt: number; readyAt: number }[] = [];
  const records: AttemptRecord[] = [];
  let succeeded = 0;
  let failed = 0;
  let cancelled = options.cancelledBeforeStart ?? 0;
  let next = 0;
  while (next < options.tasks || retries.length > 0) {
    const lane = freeAt.indexOf(Math.min(...freeAt));
    let task: number;
    let attempt: number;
    let start = freeAt[lane];
    if (retries.length > 0 && (retries[0].readyAt <= start || next >= options.tasks)) {
      const due = retries.shift()!;
      task = due.task;
      attempt = due.attempt;
      start = Math.max(start, due.readyAt);
    } else {
      task = next++;
      attempt = 1;
    }
    const endedBy = outcomeOf(random());
    const ms = endedBy === "timeout" ? maxMs * 1.5 : minMs + random() * (maxMs - minMs);
    const end = start + ms;
    freeAt[lane] = end;
    records.push({
      taskId: `t${task}`,
      name: task % 7 === 0 ? `fetch <page ${task}> & "parse"` : `square`,
      attempt,
      worker: lane,
      startedAt: start,
      finishedAt: end,
      endedBy,
      message: endedBy === "returned" ? "" : `${endedBy} on attempt ${attempt} <b>`,
    });
    if (endedBy === "returned") succeeded++;
    else if (endedBy === "cancelled") cancelled++;
    else if (attempt <= RETRIES) {
      const readyAt = end + retryDelay;
      const at = retries.findIndex((r) => r.readyAt > readyAt);
      retries.splice(at === -1 ? retries.length : at, 0, { task, attempt: attempt + 1, readyAt });
    } else failed++;
  }
  return {
    records,
    totals: { succeeded, failed, cancelled },
  };
}

/**
 * How many of `records` ended each way (only the outcomes present).
 *
 * @example
 * ```ts
 * outcomeCounts(simulateRun({ tasks: 100, workers: 2 }).records); // { returned: 100, threw: 4, … }
 * ```
 */
export function outcomeCounts(records: readonly AttemptRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.endedBy] = (counts[record.endedBy] ?? 0) + 1;
  return counts;
}
