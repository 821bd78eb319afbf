/**
 * W1: many trivial async tasks through a limiter of 16. Measures the
 * per-task overhead of the queue itself; submission is inside the timing.
 *
 * @module
 */

import { limiterImpls } from "../lib/limiters.ts";
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

/** W1 as the registry lists it. */
export const w1Trivial: Workload = {
  describe: `${TASKS.toLocaleString("en-US")} trivial async tasks, ${CONCURRENCY} concurrent`,
  unit: "tasks/s",
  better: "higher",
  ours: "osiiso",
  target: "osiiso ≥ p-limit and ≥ 1.5× p-queue on the same runtime",
  timeoutMs: 120_000,
  impls: limiterImpls({
    task: increment,
    count: TASKS,
    concurrency: CONCURRENCY,
    expectedSum: EXPECTED_SUM,
    measure: throughput,
  }),
};
