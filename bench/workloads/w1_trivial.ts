/**
 * W1: many trivial async tasks through a limiter of 16. Measures the
 * per-task overhead of the queue itself; submission is inside the timing.
 * W1-await runs the same tasks the way most users write it first: every
 * handle awaited through `Promise.all`.
 *
 * @module
 */

import { awaitedImpls, limiterImpls, type LimiterRun } from "../lib/limiters.ts";
import type { Measurement, Workload } from "../types.ts";

const TASKS = 200_000;
const CONCURRENCY = 16;
// Sum of (i + 1) for i in [0, TASKS).
const EXPECTED_SUM = (TASKS * (TASKS + 1)) / 2;

// deno-lint-ignore require-await -- the workload is an async function that never waits
async function increment(i: number): Promise<number> {
  return i + 1;
}

function throughput(start: number): Measurement {
  const ms = performance.now() - start;
  return { value: (TASKS / ms) * 1000, detail: { ms } };
}

const RUN: LimiterRun = {
  task: increment,
  count: TASKS,
  concurrency: CONCURRENCY,
  expectedSum: EXPECTED_SUM,
  measure: throughput,
};

/** W1 as the registry lists it. */
export const w1Trivial: Workload = {
  describe: `${TASKS.toLocaleString("en-US")} trivial async tasks, ${CONCURRENCY} concurrent`,
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target: "osiiso ≥ 1.5× p-limit on the same runtime",
  timeoutMs: 120_000,
  impls: limiterImpls(RUN),
};

/** W1-await: the same tasks, each handle awaited (`Promise.all` over `submit`). */
export const w1Awaited: Workload = {
  describe: `${TASKS.toLocaleString("en-US")} trivial async tasks, ${CONCURRENCY} concurrent, ` +
    "await Promise.all(items.map((i) => q.submit(f, [i]))) on a started queue",
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target: "osiiso ≥ p-limit on the same runtime",
  timeoutMs: 120_000,
  impls: awaitedImpls(RUN),
};
