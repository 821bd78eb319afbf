/**
 * W2: short sleeps with wide concurrency. 2,000 tasks of 5 ms through 100
 * slots is 20 waves, so the ideal wall time is 100 ms; what is above it is
 * scheduling overhead plus timer lateness.
 *
 * @module
 */

import { limiterImpls } from "../lib/limiters.ts";
import type { Measurement, Workload } from "../types.ts";

const TASKS = 2_000;
const CONCURRENCY = 100;
const SLEEP_MS = 5;
const IDEAL_MS = (TASKS / CONCURRENCY) * SLEEP_MS;
// Each task returns its index: sum of i for i in [0, TASKS).
const EXPECTED_SUM = (TASKS * (TASKS - 1)) / 2;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function nap(i: number): Promise<number> {
  await sleep(SLEEP_MS);
  return i;
}

function wallTime(start: number): Measurement {
  const ms = performance.now() - start;
  return { value: ms, detail: { overIdealPercent: percentOverIdeal(ms) } };
}

function percentOverIdeal(ms: number): number {
  return ((ms - IDEAL_MS) / IDEAL_MS) * 100;
}

/** W2 as the registry lists it. */
export const w2Sleeps: Workload = {
  describe: `${TASKS.toLocaleString("en-US")} tasks × ${SLEEP_MS} ms sleep, ${CONCURRENCY} ` +
    `concurrent (ideal ${IDEAL_MS} ms)`,
  unit: "ms",
  better: "lower",
  ours: "osiiso",
  target: "osiiso ≤ p-limit + 2 ms on Bun, ≤ p-limit on Deno (same run)",
  timeoutMs: 60_000,
  formatCell: (ms) => {
    const over = percentOverIdeal(ms);
    return `${ms.toFixed(1)} (${over >= 0 ? "+" : ""}${over.toFixed(1)}%)`;
  },
  impls: limiterImpls({
    task: nap,
    count: TASKS,
    concurrency: CONCURRENCY,
    expectedSum: EXPECTED_SUM,
    measure: wallTime,
  }),
};
