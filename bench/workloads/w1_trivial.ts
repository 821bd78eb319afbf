/**
 * W1: many trivial async tasks through a limiter of 16. Measures the
 * per-task overhead of the queue itself; submission is inside the timing.
 *
 * @module
 */

import { BareQueue } from "../lib/bare_queue.ts";
import { expectValues } from "../lib/check.ts";
import { expectAllSucceeded, loadOsiiso } from "../lib/osiiso.ts";
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
  impls: {
    osiiso: async () => {
      const { AsyncQueue } = await loadOsiiso();
      const start = performance.now();
      const queue = new AsyncQueue({ workers: CONCURRENCY });
      for (let i = 0; i < TASKS; i++) queue.submit(increment, [i]);
      const summary = await queue.run();
      const measurement = throughput(start);
      expectAllSucceeded(summary, TASKS);
      expectValues(summary.values, TASKS, EXPECTED_SUM);
      await queue.shutdown();
      return measurement;
    },
    "p-limit": async () => {
      const { default: pLimit } = await import("p-limit");
      const start = performance.now();
      const limit = pLimit(CONCURRENCY);
      const pending: Promise<number>[] = [];
      for (let i = 0; i < TASKS; i++) pending.push(limit(increment, i));
      const values = await Promise.all(pending);
      const measurement = throughput(start);
      expectValues(values, TASKS, EXPECTED_SUM);
      return measurement;
    },
    "p-queue": async () => {
      const { default: PQueue } = await import("p-queue");
      const start = performance.now();
      const queue = new PQueue({ concurrency: CONCURRENCY });
      const jobs: (() => Promise<number>)[] = [];
      for (let i = 0; i < TASKS; i++) jobs.push(() => increment(i));
      const values = await queue.addAll(jobs);
      const measurement = throughput(start);
      expectValues(values, TASKS, EXPECTED_SUM);
      return measurement;
    },
    bare: async () => {
      const start = performance.now();
      const queue = new BareQueue<number, number>(CONCURRENCY);
      for (let i = 0; i < TASKS; i++) queue.submit(increment, i);
      await queue.run();
      const measurement = throughput(start);
      expectValues(queue.results, TASKS, EXPECTED_SUM);
      return measurement;
    },
  },
};
